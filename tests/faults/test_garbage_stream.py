"""A garbage stream interleaved with good calls: bad in = dead letters, good all processed."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from infra.dlq import MAX_ORIGINAL_BYTES, references
from schemas import canonical_json, codec
from schemas.records import DeadLetter, InteractionEnded, InteractionOffered
from schemas.topics import DLQ, INTERACTIONS, INTERACTIONS_BY_PARTY
from tests.faults.harness import DEADLINE, Calls, IdCounter, Stack, TopicReader, figure

pytestmark = [pytest.mark.integration, pytest.mark.faults]

GOOD_CALLS = 200
OVERSIZED = 1_200_000  # over the 1 MiB payload limit and the dead letter's byte budget
BIG_KEPT = 900_000  # under the budget: kept whole


def _garbage(good: list, rng: random.Random) -> list[tuple[bytes | None, bytes, str]]:
    """(key, value, kind) of every bad input; keys reuse good interactions' keys so bad
    records sit between good ones on the same partitions."""
    keys = [e.interaction_id.encode() for e in good]
    bad: list[tuple[bytes | None, bytes, str]] = []
    for _ in range(60):
        bad.append((rng.choice(keys), rng.randbytes(rng.randint(1, 400)), "random"))
    bad.append((None, b"", "empty"))
    for n in range(40):
        whole = codec.encode(good[n * 7])
        bad.append((keys[n * 7], whole[: rng.randint(1, len(whole) - 1)], "truncated_avro"))
    for n in range(10):
        text = canonical_json.to_json(good[n * 11]).encode()
        bad.append((keys[n * 11], text[: len(text) // 2], "truncated_json"))
    for depth in (65, 1_000, 100_000):
        bad.append((rng.choice(keys), b'{"a":' * depth + b"1" + b"}" * depth, "deep_json"))
        bad.append((rng.choice(keys), b"[" * depth + b"]" * depth, "deep_json"))
    sample = good[0]
    assert isinstance(sample, InteractionOffered)
    for n, when in enumerate([datetime(1, 1, 1, tzinfo=UTC), datetime(1969, 12, 31, tzinfo=UTC),
                              datetime(9999, 12, 31, tzinfo=UTC)] * 6):
        event = replace(sample, event_id=str(uuid.uuid4()), occurred_at=when,
                        interaction_id=f"ix-bad-date-{n}")
        bad.append((event.interaction_id.encode(), codec.encode(event), "implausible_date"))
        if n % 3 == 0:  # the same refusal through the canonical-JSON path
            text = canonical_json.to_json(replace(event, event_id=str(uuid.uuid4())))
            bad.append((event.interaction_id.encode(), text.encode(), "implausible_date_json"))
    ended = next(e for e in good if isinstance(e, InteractionEnded))
    for n in range(10):
        event = replace(ended, event_id=str(uuid.uuid4()), duration_seconds=-500_000 - n)
        bad.append((ended.interaction_id.encode(), codec.encode(event), "negative_duration"))
    bad.append((b"big", rng.randbytes(BIG_KEPT), "big_kept"))
    bad.append((b"huge", rng.randbytes(OVERSIZED), "oversized"))
    return bad


def test_a_garbage_stream_is_dead_lettered_once_each_and_good_calls_flow(
    kafka_bootstrap, redis_url, tmp_path
):
    rng = random.Random(20261201)
    calls = Calls(f"g{uuid.uuid4().hex[:6]}", GOOD_CALLS)
    good = calls.events()
    bad = _garbage(good, rng)
    stream: list[tuple[bytes | None, bytes, str]] = [
        (e.interaction_id.encode(), codec.encode(e), "good") for e in good]
    for item in bad:  # interleaved: each bad record lands between good ones
        stream.insert(rng.randint(0, len(stream)), item)
    stack = Stack(kafka_bootstrap, redis_url, tmp_path)
    stack.create_topics()
    # A producer that lets the 1.2 MB record through (a client-side limit is no defence:
    # another producer, or a broker without a limit, can write it).
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all",
                         "broker.address.family": "v4", "message.max.bytes": 4_000_000})
    errors: list[object] = []
    for key, value, _kind in stream:
        producer.produce(stack.topic(INTERACTIONS), key=key, value=value,
                         on_delivery=lambda err, _m: err and errors.append(err))
        producer.poll(0)
    assert producer.flush(60) == 0 and errors == []
    by_party = TopicReader(kafka_bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
    letters = TopicReader(kafka_bootstrap, stack.topic(DLQ))
    ids = IdCounter(by_party)
    try:
        stack.start_worker()
        want = {e.event_id for e in good}
        processed = ids.wait(len(want), DEADLINE)
        lettered = letters.until(lambda: len(letters.records) >= len(bad), DEADLINE)
        letters.poll(2)  # a duplicate letter would arrive with or just after the last one
        ready, _ = stack.ready()
        assert stack.worker is not None and stack.worker.alive(), stack.worker.log_tail()
    finally:
        by_party.close()
        letters.close()
        stack.stop()
    assert processed and ids.distinct == want, f"{len(want - ids.distinct)} good events missing"
    assert lettered, f"{len(letters.records)} dead letters for {len(bad)} bad inputs"
    dead = [codec.decode(value) for _p, _o, value in letters.records]
    assert all(isinstance(d, DeadLetter) and d.stage == "interactions" for d in dead)
    sources = Counter((d.partition, d.offset) for d in dead)
    assert max(sources.values()) == 1, "a bad input was dead-lettered twice"
    assert len(dead) == len(bad)
    kept = Counter((d.original_key, d.original_value) for d in dead
                   if d.original_value is not None)
    assert kept == Counter((k, v) for k, v, kind in bad if kind != "oversized")
    assert max(len(v) for _k, v in kept) == BIG_KEPT <= MAX_ORIGINAL_BYTES
    (huge,) = [d for d in dead if d.original_value is None]
    (ref,) = references(huge)
    oversized = next(v for _k, v, kind in bad if kind == "oversized")
    assert (ref.length, ref.sha256) == (len(oversized), hashlib.sha256(oversized).hexdigest())
    assert (ref.topic, ref.partition, ref.offset) == (huge.topic, huge.partition, huge.offset)
    assert ready == 200
    figure("garbage_stream", good_events=len(want), bad_inputs=len(bad),
           dead_letters=len(dead), kinds=dict(Counter(kind for _k, _v, kind in bad)),
           errors=dict(Counter(d.error_type for d in dead)))
