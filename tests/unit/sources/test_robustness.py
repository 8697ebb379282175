"""Every translator, on every sample and on mutated samples: valid records or SourcePayloadError."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.errors import SourcePayloadError
from connectors.sources.registry import TRANSLATORS
from core.errors import InvalidIdentifier
from core.identity import normalize
from schemas.records import CHANNELS, DIRECTIONS, INTERACTION_EVENT_TYPES
from tests.unit.sources.samples import sample_path, sample_text

RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SAMPLES: dict[str, list[str]] = {
    "amazon_connect": [
        "amazon_connect_contact_event_connected_to_agent_detail.json",
        "amazon_connect_contact_event_disconnected.jsonc",
        "amazon_connect_contact_lens_chat_analysis_original.json",
    ],
    "twilio": [
        "twilio_conversations_onMessageAdded_1.form",
        "twilio_taskrouter_sdk_reservation_accepted.json",
        "twilio_taskrouter_sdk_reservation_created_by_cold_transfer.json",
        "twilio_taskrouter_sdk_task_wrapup.json",
    ],
    "genesys": [
        "genesys_analytics_conversation_detail_query_result.json",
        "genesys_eventbridge_detail_customer_start_chat.json",
        "genesys_eventbridge_detail_customer_end_chat.json",
    ],
    "asterisk": ["asterisk_ami_queue_call_events_real.txt"],
    "freeswitch": [
        "freeswitch_channel_hangup_complete_plain.txt",
        "freeswitch_json_cdr.json",
    ],
}
CASES = [(source, name) for source, names in SAMPLES.items() for name in names]
# Placeholders in vendor docs that are not real numbers (see caller_id_formats.md).
KNOWN_INVALID = {"+1234567890", "+11234567890", "+12031234567"}


def _body(name: str) -> bytes:
    """The sample as a platform would POST it (.jsonc made strict, as real payloads are)."""
    if name.endswith(".jsonc"):
        from tests.unit.sources.samples import sample_json  # noqa: PLC0415

        return json.dumps(sample_json(name)).encode()
    return sample_path(name).read_bytes()


def _check(events: list[Any], tenant: str) -> None:
    for event in events:
        assert isinstance(event, INTERACTION_EVENT_TYPES)
        assert event.tenant_id == tenant and event.interaction_id
        assert event.channel in CHANNELS
        assert getattr(event, "direction", "inbound") in DIRECTIONS
        assert event.occurred_at.tzinfo is not None
        assert event.source != "canonical"


@pytest.mark.parametrize(("source", "name"), CASES)
def test_every_sample_through_the_registry(source: str, name: str) -> None:
    """Each sample translates through TRANSLATORS into well-formed records, twice the same."""
    body = _body(name)
    events = TRANSLATORS[source](body, "acme", RECEIVED)
    _check(events, "acme")
    assert events == TRANSLATORS[source](body, "acme", RECEIVED)


@pytest.mark.parametrize(("source", "name"), CASES)
def test_customer_addresses_normalize(source: str, name: str) -> None:
    """Every customer address a sample yields is something the normalizer accepts."""
    for event in TRANSLATORS[source](_body(name), "acme", RECEIVED):
        address = event.customer_address
        if address is None or address in KNOWN_INVALID:
            continue
        try:
            normalize(address, "US")
        except InvalidIdentifier:
            pytest.fail(f"{source}: a customer address from {name} does not normalize")


def _mutations(value: Any) -> st.SearchStrategy[Any]:
    """Replace one nested value of a JSON document with junk, or delete one key."""
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, key))
        elif isinstance(node, list):
            for index, child in enumerate(node[:3]):
                walk(child, (*path, index))

    walk(value, ())
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.text(max_size=5),
        st.just([]),
        st.just({}),
        st.just("2024-13-45"),
    )
    return st.tuples(st.sampled_from(paths[1:]), junk, st.booleans())


def _apply(doc: Any, path: tuple[Any, ...], junk: Any, delete: bool) -> Any:
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return doc


JSON_CASES = [(s, n) for s, n in CASES if n.endswith((".json", ".jsonc"))]


@pytest.mark.parametrize(("source", "name"), JSON_CASES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_json_samples_fail_cleanly(source: str, name: str, data: st.DataObject) -> None:
    """One damaged field anywhere: well-formed records or SourcePayloadError, nothing else."""
    doc = json.loads(_body(name))
    path, junk, delete = data.draw(_mutations(doc))
    body = json.dumps(_apply(doc, path, junk, delete)).encode()
    try:
        events = TRANSLATORS[source](body, "acme", RECEIVED)
    except SourcePayloadError:
        return
    _check(events, "acme")


TEXT_CASES = [(s, n) for s, n in CASES if n.endswith((".txt", ".form"))]


@pytest.mark.parametrize(("source", "name"), TEXT_CASES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_text_samples_fail_cleanly(source: str, name: str, data: st.DataObject) -> None:
    """Cut, spliced or garbled text payloads: well-formed records or SourcePayloadError."""
    text = sample_text(name)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 200)))
    insert = data.draw(st.text(max_size=20))
    body = (text[:start] + insert + text[end:]).encode()
    try:
        events = TRANSLATORS[source](body, "acme", RECEIVED)
    except SourcePayloadError:
        return
    _check(events, "acme")


@pytest.mark.parametrize("source", sorted(TRANSLATORS))
@given(body=st.binary(max_size=200))
@settings(max_examples=50, deadline=None)
def test_random_bytes_fail_cleanly(source: str, body: bytes) -> None:
    """Arbitrary bytes never escape as anything but SourcePayloadError."""
    try:
        events = TRANSLATORS[source](body, "acme", RECEIVED)
    except SourcePayloadError:
        return
    _check(events, "acme")
