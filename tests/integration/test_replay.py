"""`c360 replay` against real Tansu + Redis: the rebuilt namespace equals the live one, and
the replay reads past Tansu's wrong high watermark (FACTS.md M3)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import pytest
from confluent_kafka import TopicPartition

from c360.bench_replay import snapshot
from c360.bench_replay_data import party_records, publish
from c360.kafka_admin import create_topics
from c360.replay import Target, replay, replay_parallel
from c360.replay_offsets import Limits, replay_consumer
from core.timeline import Retention, fold, from_ms
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import InteractionEnded, PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY, TopicSpec
from schemas.validation import validate
from tests.kafka_helpers import make_producer, produce_sync

pytestmark = pytest.mark.integration

DAY = 86_400_000
# A small cap and a window shorter than the records' 300-day spread, so the comparison
# covers cap trimming, window trimming and already-gone interactions (tombstones), not
# only plain writes.
RETENTION = Retention(max_entries=3, window_ms=200 * DAY, tombstone_grace_ms=7 * DAY)


async def _apply_like_the_live_agent(
    redis_url: str, namespace: str, values: list[bytes], now_ms: int
) -> int:
    """One store.apply per record, in topic order; undecodable or implausible records
    skipped (the live pipeline dead-letters them before they reach the fold)."""
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(namespace), RETENTION)
    applied = 0
    try:
        for value in values:
            try:
                record = codec.decode(value)
                assert isinstance(record, PartyInteraction)
                validate(record.event, now=from_ms(now_ms))
            except SchemaError:
                continue
            await store.apply(record.tenant_id, record.party_token, record.event, now_ms)
            applied += 1
    finally:
        await client.aclose()
    return applied


async def test_the_replayed_namespace_equals_the_live_one(
    kafka_bootstrap, redis_url, topic_prefix, redis_namespace, consume_until
):
    """Same by-party records, same clock: live per-event applies into A, a two-process
    replay into B; every key, field, member and score is equal (TTL values aside)."""
    topic = topic_prefix + INTERACTIONS_BY_PARTY
    records = list(party_records(1_500, calls_per_party=6))
    records += records[100:140]  # at-least-once: redelivered records
    records.append((b"bench:x", b"\xc3\x01garbage"))  # a record the live agent dead-letters
    records.append(_implausible(records[0][1]))  # would crash the entry encoding
    publish(kafka_bootstrap, topic, iter(records))
    received = consume_until(topic, lambda seen: len(seen) >= len(records))
    assert len(received) == len(records)
    now_ms = time.time_ns() // 1_000_000
    live, rebuilt = f"{redis_namespace}a", f"{redis_namespace}b"

    applied = await _apply_like_the_live_agent(
        redis_url, live, [r.value or b"" for r in received], now_ms
    )
    stats = await asyncio.to_thread(
        replay_parallel,
        kafka_bootstrap,
        topic,
        Target(redis_url, rebuilt, RETENTION),
        workers=2,
        limits=Limits(per_process=0),  # two processes even for a small topic
        now_ms=now_ms,
    )

    assert stats["records"] == len(records)
    assert stats["undecodable"] == 1
    assert stats["implausible"] == 1
    assert stats["workers"] == 2
    assert applied == len(records) - 2
    expected, got = snapshot(redis_url, live), snapshot(redis_url, rebuilt)
    tombstones = [
        f for kind, value, _ in expected.values() if kind == "hash"
        for f, v in value.items() if v.startswith(b"~")  # type: ignore[attr-defined]
    ]
    assert len(expected) > 50 and tombstones  # the data reached the trimming paths
    assert sorted(got) == sorted(expected)
    assert got == expected


def _implausible(template: bytes) -> tuple[bytes, bytes]:
    """A by-party record of a new interaction whose leg lasted -5 s."""
    record = codec.decode(template)
    event = InteractionEnded(str(uuid.uuid4()), record.tenant_id, record.occurred_at,
                             "ix-negative", "voice", "inbound", "a", "b", -5, leg_id="l1")
    bad = dataclasses.replace(record, event_id=event.event_id, event=event)
    return f"{record.tenant_id}:{record.party_token}".encode(), codec.encode(bad)


def _single_partition_topic(bootstrap: str) -> str:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    create_topics(bootstrap, prefix, [TopicSpec(INTERACTIONS_BY_PARTY, 1, "party", "x")])
    return prefix + INTERACTIONS_BY_PARTY


@pytest.mark.parametrize("batch_size", [1, 10_000])
async def test_replay_reads_past_a_watermark_that_stops_short(
    kafka_bootstrap, redis_url, redis_namespace, batch_size
):
    """3 single sends, then one batch of 10 (Tansu 0.6 reports watermark 4): all 13, also
    when the watermark's record ends a consume() call (batch_size 1)."""
    topic = _single_partition_topic(kafka_bootstrap)
    records = list(party_records(13))
    producer = make_producer(kafka_bootstrap)
    for key, value in records[:3]:
        produce_sync(producer, topic, value, key)
    for key, value in records[3:]:
        producer.produce(topic, value=value, key=key)
    producer.flush(30)
    probe = replay_consumer(kafka_bootstrap)
    try:
        _, high = probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        probe.close()
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(redis_namespace), Retention())
    try:
        limits = Limits(batch_size=batch_size, idle_s=0.5)
        stats = await replay(kafka_bootstrap, topic, store, limits=limits)
        decoded = [codec.decode(value) for _, value in records]
        found = [await store.get(r.tenant_id, r.party_token, r.event.interaction_id)
                 for r in decoded]
    finally:
        await client.aclose()

    assert high <= 13  # 4 on Tansu 0.6; 13 on a broker that reports it right
    assert stats["records"] == 13
    reference = fold([r.event for r in decoded])  # the last batch's events included
    assert found == [reference[r.event.interaction_id] for r in decoded]
