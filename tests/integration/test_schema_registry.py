"""The real Faust worker with C360_SCHEMA_REGISTRY_URL (the registry emulator): Confluent-
framed input is read, outputs and dead letters are Confluent-framed, an unknown id dead-letters."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer

from infra.kafka_producer import make_producer, produce_all
from infra.schema_registry import registry_codec
from schemas import codec
from schemas.records import ActivityRequested, DeadLetter
from schemas.topics import ACTIVITIES_REQUESTED, DLQ, INTERACTIONS
from tests.factories import voice_call
from tests.integration.stack import DEADLINE, running_stack
from tests.unit.infra.registry_emulator import running_registry

pytestmark = pytest.mark.integration


def _consume(stack, topic: str, decode, predicate) -> list:
    consumer = Consumer({
        "bootstrap.servers": stack["bootstrap"],
        "group.id": f"t-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "broker.address.family": "v4",
    })
    consumer.subscribe([stack["prefix"] + topic])
    records: list = []
    end = time.monotonic() + DEADLINE
    try:
        while time.monotonic() < end and not predicate(records):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append((msg.value()[:1], decode(msg.value())))
    finally:
        consumer.close()
    assert predicate(records), f"gave up waiting on {topic}: {records!r:.500}"
    return records


def test_confluent_framed_events_flow_and_an_unknown_schema_id_dead_letters(
    kafka_bootstrap, redis_url, tmp_path
):
    """A call written by another producer in the Confluent format gives its activity (in the
    Confluent format); a frame with an unregistered id is dead-lettered, not retried."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    start = datetime.now(tz=UTC) - timedelta(minutes=30)
    with running_registry() as (url, _state), running_stack(
        kafka_bootstrap, redis_url, tmp_path, C360_SCHEMA_REGISTRY_URL=url
    ) as stack:
        producer_codec = registry_codec(url)
        topic = stack["prefix"] + INTERACTIONS
        batch = [(e.interaction_id.encode(), producer_codec.encode(e, topic))
                 for e in voice_call("ix-1", tenant=tenant, start=start)]
        batch.append((b"poison", b"\x00\x00\x00\x03\xe7body"))  # id 999: never registered
        produce_all(make_producer(stack["bootstrap"]), topic, batch)
        reader = registry_codec(url)

        def decode(data: bytes):
            return codec.decode(data, confluent=reader)

        acts = _consume(stack, ACTIVITIES_REQUESTED, decode, lambda rs: any(
            isinstance(r, ActivityRequested) and r.tenant_id == tenant for _m, r in rs))
        framing, act = next((m, r) for m, r in acts if r.tenant_id == tenant)
        assert framing == b"\x00"
        assert act.idempotency_key == f"{tenant}:ix-1:default:call"
        letters = _consume(stack, DLQ, decode, lambda rs: any(
            isinstance(r, DeadLetter) and r.original_value == b"\x00\x00\x00\x03\xe7body"
            for _m, r in rs))
        framing, letter = next((m, r) for m, r in letters if isinstance(r, DeadLetter))
        assert framing == b"\x00" and "404" in letter.error_message
