"""Pieces of the pop: layouts, view round trips, latency metrics, contacts logging without PII."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from core.layouts import LayoutConfig, TenantLayout, layout_from_dict, render_fields
from core.matching import Hint, MatchDecision
from core.pop_view import Panel, match_from_view, match_view, panel_from_json, panel_to_json
from core.profile_schema import (
    UNIQUE_PHONE,
    ProfileSchemaError,
    TenantSchema,
    config_from_dict,
)
from core.profiles import Profile, ProfileIdentifier
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import (
    InMemoryInteractionLinks,
    InMemoryPopCache,
    InMemoryProfileDirectory,
)
from schemas.records import MatchCandidate, ProfileUpserted
from streams.bootstrap import build_deps
from streams.contacts import handle_profile_upserted
from streams.directory import DirectoryDeps, disabled_directory
from streams.pop_metrics import PopMetrics
from streams.settings import StreamSettings
from tests.factories import T0, eid

SCHEMA = config_from_dict(
    {
        "default": {
            "attributes": [
                {"name": "tier", "type": "text"},
                {"name": "ltv", "type": "number"},
                {"name": "tags", "type": "list"},
            ]
        }
    }
).for_tenant("x")
ALICE = Profile(
    "acme",
    "p-1",
    (1, "e"),
    "Alice",
    (
        ProfileIdentifier("phone", "+441", "t1"),
        ProfileIdentifier("phone", "+442", "t2"),
        ProfileIdentifier("email", "a@x.io", "t3"),
    ),
    {"tier": "gold", "ltv": "10", "tags": '["a","b"]'},
    "csv",
)


def test_default_layout_shows_builtins_then_every_attribute():
    """Without a layout the panel lists name, phones, emails, then the schema's attributes."""
    fields = render_fields(ALICE, TenantLayout(), SCHEMA)
    assert [f["name"] for f in fields] == [
        "display_name",
        "phones",
        "emails",
        "tier",
        "ltv",
        "tags",
    ]
    assert fields[-1]["value"] == ["a", "b"]
    assert fields[-2] == {"name": "ltv", "label": "Ltv", "type": "number", "value": 10}


def test_a_phone_lost_under_unique_phone_is_not_shown():
    """Only identifiers that still resolve to the profile are listed."""
    fields = render_fields(ALICE, TenantLayout(), SCHEMA, frozenset({"t2", "t3"}))
    assert fields[1]["value"] == ["+442"]


def test_layout_order_labels_and_unknown_attributes():
    """Layout order wins; unset fields are left out; attributes outside the schema are text."""
    layout = layout_from_dict(
        {
            "default": {
                "fields": [{"name": "ltv", "label": "Value"}, "missing", "profile_id", "source"]
            }
        }
    ).for_tenant("x")
    odd = Profile("acme", "p-2", (1, "e"), None, (), {"missing": "kept"}, "crm:hubspot")
    assert render_fields(odd, layout, SCHEMA) == [
        {"name": "missing", "label": "missing", "type": "text", "value": "kept"},
        {"name": "profile_id", "label": "Profile id", "type": "text", "value": "p-2"},
        {"name": "source", "label": "Source", "type": "text", "value": "crm:hubspot"},
    ]


@pytest.mark.parametrize(
    "doc",
    [
        {"default": {"fields": [3]}},
        {"default": {"timeline_limit": 99}},
        {"default": {"suppression": []}},
        {"tenants": {"a": []}},
    ],
    ids=["field not a name", "limit out of range", "suppression not object", "tenant not object"],
)
def test_bad_layouts_are_rejected(doc):
    """Layout documents are validated at start-up."""
    with pytest.raises(ProfileSchemaError, match="layout"):
        layout_from_dict(doc)


def test_bad_suppression_rules_stop_the_start():
    """Rules are checked for every configured tenant when the deps are built."""
    layouts = LayoutConfig(tenants={"acme": TenantLayout(suppression={"unrouted": "no"})})
    settings = StreamSettings.from_env({"C360_ENV": "dev"})
    with pytest.raises(ValueError, match="acme"):
        replace(disabled_directory(settings), layouts=layouts).validate()


def test_panels_round_trip_through_the_cache():
    """A pre-warmed panel reads back equal, hint and candidates included."""
    match = MatchDecision(
        "hint",
        "hint",
        "why",
        1,
        (MatchCandidate("p-1", "Alice"),),
        None,
        "p-1",
        Hint("sfdc", "Contact", "003"),
    )
    panel = Panel(match, {"profile_id": "p-1"}, None, [{"id": "r"}], ("note",), "p-1", ("t",))
    back = panel_from_json(panel_to_json(panel))
    assert back == Panel(
        replace_hint(match), {"profile_id": "p-1"}, None, [{"id": "r"}], ("note",), "p-1", ("t",)
    )
    assert match_from_view(match_view(back.match)) == back.match


def replace_hint(match):
    # The stored hint keeps crm/object/record; the resolved candidate is in `candidates`.
    return MatchDecision(
        match.status,
        match.source,
        match.reason,
        match.count,
        match.candidates,
        match.identifier_kind,
        match.profile_id,
        Hint("sfdc", "Contact", "003"),
    )


def test_latency_histogram_and_prometheus_text():
    """Latencies land in cumulative buckets; suppressions are counted by reason."""
    metrics = PopMetrics()
    for ms, status, reason in (
        (3, "one", None),
        (120, "none", None),
        (-5, "none", None),
        (70_000, "none", "unrouted"),
    ):
        metrics.observe(ms, status, reason)
    doc = metrics.as_dict()
    assert doc["latency_ms"]["count"] == 4
    assert doc["latency_ms"]["buckets"]["5"] == 2
    assert doc["latency_ms"]["buckets"]["250"] == 3
    assert doc["latency_ms"]["buckets"]["+Inf"] == 4
    assert doc["pops_by_status"] == {"one": 1, "none": 2}
    assert doc["suppressed_by_reason"] == {"unrouted": 1}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.prometheus())
        for s in family.samples
    }
    assert samples[("c360_screen_pop_latency_ms_bucket", (("le", "+Inf"),))] == 4
    assert samples[("c360_screen_pop_latency_ms_bucket", (("le", "5.0"),))] == 2
    assert samples[("c360_screen_pop_latency_ms_sum", ())] == 3 + 120 + 0 + 70_000
    assert samples[("c360_screen_pops_suppressed_total", (("reason", "unrouted"),))] == 1
    assert samples[("c360_screen_pops_total", (("status", "none"),))] == 2


async def test_contacts_log_names_and_tokens_never_values():
    """Dropped fields and ownership moves are logged without phone numbers or emails."""
    schema = config_from_dict(
        {"default": {"uniqueness": UNIQUE_PHONE, "attributes": [{"name": "ltv", "type": "number"}]}}
    )
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})
    directory = DirectoryDeps(settings, InMemoryProfileDirectory(schema.policy_for),
                              InMemoryInteractionLinks(), InMemoryPopCache(),
                              profile_config=schema)
    deps = build_deps(settings, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(), directory=directory)
    with capture_logs() as logs:
        for pid, at in (("p-old", T0), ("p-new", T0 + timedelta(days=1))):
            await handle_profile_upserted(
                ProfileUpserted(
                    eid(),
                    "acme",
                    at,
                    pid,
                    "X",
                    ("020 7946 0123", "12"),
                    ("bob@example.com",),
                    {"ltv": "lots"},
                ),
                deps,
            )
    dumped = json.dumps(logs)
    assert "2079460123" not in dumped and "example.com" not in dumped
    dropped = [entry for entry in logs if entry["event"] == "profile_fields_dropped"]
    assert dropped[0]["problems"] == [
        "phones[2]: not a customer phone number (extension)",
        "ltv: not a number",
    ]
    [moved] = [entry for entry in logs if entry["event"] == "identifier_owner_changed"]
    assert (moved["previous"], moved["current"]) == ("p-old", "p-new")
    assert await directory.profiles.get("acme", "p-new") is not None
    assert (await directory.profiles.get("acme", "p-new")).attributes == {}
    assert TenantSchema().uniqueness == "shared"
