"""The live pipeline on the real Tansu broker and real Redis: events in, timeline over HTTP,
screen pops and activities on their topics, poison messages in the DLQ."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer

from infra.kafka_producer import make_producer, produce_all
from schemas import canonical_json, codec
from schemas.records import ActivityRequested, DeadLetter, ScreenPopRequested
from schemas.topics import ACTIVITIES_REQUESTED, DLQ, INTERACTIONS, SCREENPOPS
from tests.factories import voice_call
from tests.integration.stack import DEADLINE, running_stack, stack_bearer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, redis_url, tmp_path_factory):
    """One Faust worker and one HTTP service on a private topic prefix and key namespace."""
    with running_stack(kafka_bootstrap, redis_url, tmp_path_factory.mktemp("pipeline")) as s:
        yield s


def _publish(stack, events, *, raw: list[bytes] | None = None, key: bytes | None = None) -> None:
    batch = [(key or e.interaction_id.encode(), codec.encode(e)) for e in events]
    batch += [(b"poison", value) for value in raw or []]
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + INTERACTIONS, batch)


def _consume(stack, topic: str, predicate, deadline: float = DEADLINE) -> list:
    """Records of `topic` (from the start) until `predicate(records)` holds."""
    consumer = Consumer({
        "bootstrap.servers": stack["bootstrap"],
        "group.id": f"t-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "broker.address.family": "v4",
    })
    consumer.subscribe([stack["prefix"] + topic])
    records: list = []
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end and not predicate(records):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append(codec.decode(msg.value()))
    finally:
        consumer.close()
    assert predicate(records), f"gave up waiting on {topic}: {records!r:.500}"
    return records


def _timeline(stack, identifier: str, tenant: str, channel: str = "voice") -> dict:
    query = urllib.parse.urlencode({"identifier": identifier, "tenant": tenant,
                                    "channel": channel})
    request = urllib.request.Request(
        f"{stack['http']}/v1/timeline?{query}", headers=stack_bearer(stack, tenant)
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def _wait_timeline(stack, identifier, tenant, predicate, deadline: float = DEADLINE) -> dict:
    end = time.monotonic() + deadline
    while True:
        doc = _timeline(stack, identifier, tenant)
        if predicate(doc) or time.monotonic() > end:
            return doc
        time.sleep(0.3)


def _now_call(iid: str, tenant: str, start: datetime | None = None, **kwargs):
    start = start or datetime.now(tz=UTC) - timedelta(minutes=30)
    return voice_call(iid, tenant=tenant, start=start, **kwargs)


def test_events_in_timeline_out_with_screen_pop_and_activity(stack):
    """A wrapped-up call shows on the timeline (any number format), pops for its agent and
    asks for one call activity."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    # Rang seconds ago (a ring past the desktop's freshness window whose call has ended is
    # recorded as suppressed 'ended': tests/handlers/test_pipeline.py).
    start = datetime.now(tz=UTC) - timedelta(seconds=20)
    _publish(stack, _now_call("ix-1", tenant, start, agent="agent-9", caller="+442079460123"))
    doc = _wait_timeline(stack, "020 7946 0123", tenant, lambda d: d["items"]
                         and d["items"][0]["disposition"])
    assert [item["interaction_id"] for item in doc["items"]] == ["ix-1"]
    item = doc["items"][0]
    assert item["disposition"] == "SALE"
    assert item["queue"] == "Sales"
    assert item["duration_seconds"] == 95
    pops = _consume(stack, SCREENPOPS, lambda rs: any(
        isinstance(r, ScreenPopRequested) and r.tenant_id == tenant for r in rs))
    mine = [p for p in pops if p.tenant_id == tenant]
    assert {p.agent_id for p in mine} == {"agent-9"}
    assert not mine[0].suppressed
    acts = _consume(stack, ACTIVITIES_REQUESTED, lambda rs: any(
        isinstance(r, ActivityRequested) and r.tenant_id == tenant for r in rs))
    act = next(a for a in acts if a.tenant_id == tenant)
    assert act.idempotency_key == f"{tenant}:ix-1:default:call"
    assert act.customer_phone == "+442079460123"


def test_poison_messages_go_to_the_dlq_and_later_events_still_flow(stack):
    """Garbage bytes and an invalid caller id are dead-lettered with their original bytes;
    the partition moves on and a later good event is processed."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    garbage = b"\xc3\x01not-avro-at-all"
    bad_caller = replace(_now_call("ix-bad", tenant)[0], from_address="call me maybe")
    json_ok = _now_call("ix-json", tenant, caller="+442079460456")
    _publish(stack, [bad_caller], raw=[garbage])
    # A producer that cannot speak Avro publishes canonical JSON to the same topic.
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + INTERACTIONS,
                [(e.interaction_id.encode(), canonical_json.to_json(e).encode())
                 for e in json_ok])
    letters = _consume(stack, DLQ, lambda rs: sum(
        isinstance(r, DeadLetter) and r.stage == "interactions" for r in rs) >= 2)
    originals = {r.original_value for r in letters}
    assert garbage in originals
    assert codec.encode(bad_caller) in originals
    bad = next(r for r in letters if r.original_value == garbage)
    assert bad.topic == stack["prefix"] + INTERACTIONS
    assert bad.offset >= 0
    assert bad.error_type
    doc = _wait_timeline(stack, "+442079460456", tenant, lambda d: d["items"])
    assert [i["interaction_id"] for i in doc["items"]] == ["ix-json"]


def test_duplicate_events_make_no_duplicate_entry(stack):
    """Publishing the same call three times leaves one timeline entry, unchanged."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    call = _now_call("ix-dup", tenant, caller="+12025550143")
    _publish(stack, call)
    first = _wait_timeline(stack, "+1 202 555 0143", tenant,
                           lambda d: d["items"] and d["items"][0]["disposition"])
    _publish(stack, call + call)
    marker = _now_call("ix-after", tenant, caller="+12025550143",
                       start=datetime.now(tz=UTC) - timedelta(minutes=5))
    # Same Kafka key as the duplicates: same partition, so the marker is processed after
    # them, and seeing it proves the duplicates were applied.
    _publish(stack, marker, key=b"ix-dup")
    doc = _wait_timeline(stack, "+12025550143", tenant, lambda d: len(d["items"]) >= 2)
    items = {i["interaction_id"]: i for i in doc["items"]}
    assert sorted(items) == ["ix-after", "ix-dup"]
    assert {k: v for k, v in items["ix-dup"].items() if k != "ago"} == {
        k: v for k, v in first["items"][0].items() if k != "ago"}
