"""Related records: results and desktop decisions folded into new/suggested/linked/unlinked."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from core.related import (
    LINKED,
    NEW,
    SUGGESTED,
    UNLINKED,
    InMemoryRelatedRecords,
    RelatedFact,
    closed_ms_of,
    describe,
    fact_from_action,
    facts_from_result,
    fold,
    parse_record_key,
    status_of,
)
from core.timeline import fold as fold_entries
from core.timeline import to_ms
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas.records import ActivityResult, DesktopActionTaken
from streams.activities import handle_activity_result, handle_related_action, related_records
from streams.bootstrap import build_deps
from streams.handlers import party_for
from streams.settings import StreamSettings
from tests.factories import T0, eid, voice_call

END_MS = to_ms(T0 + timedelta(seconds=115))
WRAP_MS = to_ms(T0 + timedelta(seconds=145))


def result(at, status="created", key="acme:ix-1:default:call", activity="a1", contact="c1",
           event_id=None):
    return ActivityResult(event_id or eid(), "acme", at, "ix-1", key, "hubspot", status,
                          crm_activity_id=activity, crm_contact_id=contact,
                          record_url=f"https://crm.test/{activity}")


def action(kind, record_id, at, agent="agent-1"):
    return DesktopActionTaken(eid(), "acme", at, agent, "ix-1", kind, record_id=record_id)


def test_a_written_activity_relates_the_activity_and_its_contact():
    """created/updated -> the activity (typed by kind) and the contact; failures -> none."""
    facts = facts_from_result(result(T0), "call")
    assert [(f.object_type, f.record_id, f.source) for f in facts] == [
        ("call", "a1", "activity"), ("contact", "c1", "contact")]
    assert facts[0].url == "https://crm.test/a1"
    assert facts_from_result(result(T0, status="rejected"), "call") == []
    assert facts_from_result(result(T0, status="failed"), "call") == []
    no_contact = facts_from_result(result(T0, contact=None), None)
    assert [(f.object_type, f.record_id) for f in no_contact] == [("activity", "a1")]


@pytest.mark.parametrize(
    ("seen", "linked", "closed", "status"),
    [
        (T0, None, None, NEW),  # interaction still open
        (T0 + timedelta(seconds=145), None, WRAP_MS, NEW),  # at wrap-up (automation rules)
        (T0 + timedelta(hours=1), None, WRAP_MS, SUGGESTED),  # afterwards
        (T0 + timedelta(hours=1), True, WRAP_MS, LINKED),
        (T0, False, None, UNLINKED),
    ],
)
def test_status_new_during_suggested_after_unless_the_agent_decided(seen, linked, closed,
                                                                     status):
    """The agent's decision wins; otherwise when the record became related decides."""
    facts = facts_from_result(result(seen), "call")[:1]
    if linked is not None:
        kind = "link_record" if linked else "unlink_record"
        facts.append(fact_from_action(action(kind, "hubspot:call:a1", T0 + timedelta(hours=2))))
    (record,) = fold(facts)
    assert status_of(record, closed) == status


def test_the_latest_decision_wins_and_duplicates_or_order_do_not_matter():
    """link, unlink, link again: linked; any permutation with duplicates folds the same."""
    facts = facts_from_result(result(T0), "call") + facts_from_result(
        result(T0 + timedelta(minutes=5), key="acme:ix-1:default:call"), "call")
    for minutes, kind in ((10, "link_record"), (20, "unlink_record"), (30, "link_record")):
        facts.append(fact_from_action(action(kind, "hubspot:call:a1",
                                             T0 + timedelta(minutes=minutes), agent="ag-9")))
    expected = fold(facts)
    shuffled = facts * 2
    random.Random(7).shuffle(shuffled)
    assert fold(shuffled) == expected
    call = next(r for r in expected if r.object_type == "call")
    assert (call.linked, call.decided_by, call.seen_ms) == (True, "ag-9", to_ms(T0))


def test_an_agent_can_link_a_record_c360_never_wrote():
    """A record the agent found in the CRM is linked with source 'agent'."""
    fact = fact_from_action(action("link_record", "salesforce:opportunity:006X", T0))
    (record,) = fold([fact])
    assert (record.crm, record.object_type, record.record_id, record.source) == (
        "salesforce", "opportunity", "006X", "agent")
    assert status_of(record, None) == LINKED
    assert fact_from_action(action("open_profile", None, T0)) is None
    assert parse_record_key("plain-id") == ("", "record", "plain-id")


def test_facts_round_trip_through_their_stored_form():
    """to_json/from_json keep every field (the fact id is the Redis hash field)."""
    fact = RelatedFact("f1", 5, "link", "zoho", "deal", "42", "https://z", "agent", "ag-1")
    assert RelatedFact.from_json("f1", fact.to_json()) == fact


def test_closed_is_the_wrap_up_else_the_end_else_open():
    """closed_ms_of reads the merged entry."""
    call = voice_call("ix-1")
    assert closed_ms_of(fold_entries(call)["ix-1"]) == WRAP_MS
    assert closed_ms_of(fold_entries(call[:-1])["ix-1"]) == END_MS
    assert closed_ms_of(fold_entries(call[:3])["ix-1"]) is None
    assert closed_ms_of(None) is None


SETTINGS = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})


async def test_results_and_desktop_decisions_through_the_handlers():
    """Results and link/unlink land in the store; the read shows status per record."""
    deps = build_deps(SETTINGS, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(),
                      clock_ms=lambda: to_ms(T0 + timedelta(hours=3)))
    call = voice_call("ix-1")
    party = party_for(call[0], call[0].from_address, SETTINGS)
    await deps.parties.remember("ix-1", party)
    for event in call:
        await deps.timeline.apply("acme", party.token, event, deps.clock_ms())
    store = InMemoryRelatedRecords()
    await handle_activity_result(result(T0 + timedelta(seconds=145)), store)
    await handle_activity_result(result(T0 + timedelta(hours=1), key="acme:ix-1:default:task",
                                        activity="t1"), store)
    await handle_related_action(action("unlink_record", "hubspot:contact:c1",
                                       T0 + timedelta(hours=2)), store)
    await handle_related_action(action("add_note", None, T0), store)  # not a link action
    shown = await related_records(deps, store, "acme", "ix-1")
    assert [(r["record"], r["status"]) for r in shown] == [
        ("hubspot:call:a1", NEW),
        ("hubspot:contact:c1", UNLINKED),
        ("hubspot:task:t1", SUGGESTED),
    ]
    assert await related_records(deps, store, "acme", "ix-unknown") == []
    assert describe([], None) == []
