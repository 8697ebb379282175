"""By-party records for the replay bench and tests: realistic calls, published in bulk."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, Producer, TopicPartition

from c360.kafka_admin import create_topics
from c360.replay_offsets import partitions_of
from infra.kafka_config import Brokers, client_config, endpoint_of
from schemas import codec
from schemas.records import (
    CrmRecordHint,
    InteractionAccepted,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
    PartyInteraction,
    RecordingAvailable,
)
from schemas.topics import CATALOGUE, INTERACTIONS_BY_PARTY

TENANT = "bench"
CENTRE = "+442079460999"
_NS = uuid.UUID("6f1c2a8e-0b7d-4c61-9a55-3e2f4b1d9c70")


def _call(iid: str, start: datetime, caller: str, agent: str, n: int) -> list[InteractionEvent]:
    """One routed inbound call, as the live pipeline sees it (5 to 7 events)."""

    def eid(step: int) -> str:
        return str(uuid.uuid5(_NS, f"{iid}/{step}"))

    end = start + timedelta(seconds=95 + n % 300)
    leg = f"{iid}-a1"
    events: list[InteractionEvent] = [
        InteractionOffered(
            eid(0),
            TENANT,
            start,
            iid,
            "voice",
            "inbound",
            caller,
            CENTRE,
            stage="queued",
            queue="Sales",
            ivr_path=("main", "sales"),
            crm_record_hint=CrmRecordHint("sf", "Contact", f"003{n:012d}") if n % 3 == 0 else None,
            customer_address=caller,
        ),
        InteractionOffered(
            eid(1),
            TENANT,
            start + timedelta(seconds=10),
            iid,
            "voice",
            "inbound",
            caller,
            CENTRE,
            stage="offered",
            agent_id=agent,
            queue="Sales",
            leg_id=leg,
            customer_address=caller,
        ),
        InteractionAccepted(
            eid(2),
            TENANT,
            start + timedelta(seconds=15),
            iid,
            "voice",
            agent,
            agent_name="Ada Lovelace",
            leg_id=leg,
            queue="Sales",
        ),
        InteractionEnded(
            eid(3),
            TENANT,
            end,
            iid,
            "voice",
            "inbound",
            caller,
            CENTRE,
            (end - start).seconds,
            started_at=start,
            end_reason="customer_hangup",
            customer_address=caller,
        ),
        InteractionWrappedUp(
            eid(4),
            TENANT,
            end + timedelta(seconds=30),
            iid,
            "voice",
            agent,
            disposition_code="SALE" if n % 2 else "INFO",
            notes="Customer renewed the contract.",
            outcome="success",
        ),
    ]
    if n % 4 == 0:
        events.append(
            InteractionAnalyzed(
                eid(5),
                TENANT,
                end + timedelta(minutes=5),
                iid,
                "voice",
                sentiment=0.4,
                sentiment_label="POSITIVE",
                topics=("renewal", "pricing"),
                summary="Renewal agreed after a price question.",
            )
        )
    if n % 2 == 0:
        events.append(
            RecordingAvailable(
                eid(6),
                TENANT,
                end + timedelta(minutes=2),
                iid,
                "voice",
                f"https://rec.example/{iid}.wav",
                95,
            )
        )
    return events


def party_records(n: int, *, calls_per_party: int = 8) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of n by-party records: calls of 5-7 events, `calls_per_party` per party,
    spread over the last 300 days (inside the window, under the default cap)."""
    base = datetime.now(tz=UTC).replace(microsecond=0) - timedelta(days=300)
    sent, call = 0, 0
    while sent < n:
        party = call // calls_per_party
        token = hashlib.blake2b(f"bench-party-{party}".encode(), digest_size=16).hexdigest()
        caller = f"+4420794{party % 100000:05d}"
        start = base + timedelta(minutes=call * 7)
        iid = str(uuid.uuid5(_NS, f"call-{call}"))
        key = f"{TENANT}:{token}".encode()
        for event in _call(iid, start, caller, f"agent-{call % 40}", call):
            if sent == n:
                return
            record = PartyInteraction(
                event.event_id,
                TENANT,
                event.occurred_at,
                token,
                "phone",
                caller,
                "bench",
                False,
                event,
            )
            yield key, codec.encode(record)
            sent += 1
        call += 1


def publish(brokers: Brokers, topic: str, records: Iterator[tuple[bytes, bytes]]) -> int:
    """Produce every record (acks=all, batched) and wait for the broker; the count sent."""
    producer = Producer(
        {
            **client_config(endpoint_of(brokers), "c360-bench-publish"),
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    failed: list[object] = []

    def report(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(err)

    sent = 0
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.1)
        sent += 1
    if producer.flush(120) or failed:
        msg = f"publishing to {topic} failed: {failed[:3] or 'not acknowledged'}"
        raise RuntimeError(msg)
    return sent


def fresh_topic(bootstrap: str, topic_prefix: str = "") -> str:
    """The by-party topic under `topic_prefix` when it is empty, else under a new prefix."""
    spec = next(t for t in CATALOGUE if t.name == INTERACTIONS_BY_PARTY)
    for prefix in (topic_prefix, f"{topic_prefix}replay{uuid.uuid4().hex[:8]}."):
        if not prefix:
            continue
        create_topics(bootstrap, prefix, [spec])
        topic = prefix + INTERACTIONS_BY_PARTY
        if _records_in(bootstrap, topic) == 0:
            return topic
    msg = "no empty by-party topic could be created"  # pragma: no cover
    raise RuntimeError(msg)  # pragma: no cover


def _records_in(bootstrap: str, topic: str) -> int:
    consumer = Consumer({**client_config(endpoint_of(bootstrap), "c360-bench-probe"),
                         "group.id": "c360-bench-probe"})
    try:
        parts = partitions_of(bootstrap, topic)
        marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                 for p in parts]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()
