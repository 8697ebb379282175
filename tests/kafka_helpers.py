"""Test helpers over a real broker: read a topic from the beginning until a condition holds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

if TYPE_CHECKING:
    # private module: only its type alias is used, so never import it at run time
    from confluent_kafka._types import HeadersType


@dataclass(frozen=True, slots=True)
class Received:
    """One consumed record, copied out of librdkafka's Message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


Predicate = Callable[[Sequence[Received]], bool]


def make_producer(bootstrap: str) -> Producer:
    """A plain acks=all producer on IPv4 (Tansu is IPv4 only, FACTS T9)."""
    return Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "broker.address.family": "v4"}
    )


def produce_sync(
    producer: Producer, topic: str, value: bytes, key: bytes | None = None
) -> None:
    """Produce one record and wait for the broker's ack (raises on a delivery error)."""
    errors: list[object] = []
    producer.produce(
        topic, value=value, key=key, on_delivery=lambda err, _m: errors.append(err)
    )
    producer.flush(30)
    if not errors or errors[0] is not None:
        raise AssertionError(f"delivery to {topic} failed: {errors or 'no ack within 30s'}")


def _headers(raw: HeadersType | None) -> tuple[tuple[str, bytes], ...]:
    """librdkafka gives a list of (name, str|bytes|None) pairs (or None)."""
    pairs = list(raw.items()) if isinstance(raw, dict) else list(raw or ())
    out: list[tuple[str, bytes]] = []
    for name, val in pairs:
        out.append((str(name), val.encode() if isinstance(val, str) else bytes(val or b"")))
    return tuple(out)


def consume_until(
    bootstrap: str,
    topic: str,
    predicate: Predicate = bool,
    timeout: float = 30.0,
) -> list[Received]:
    """Read `topic` from offset 0 of every partition until predicate(all so far) or timeout.

    Partitions are assigned directly (no group join), which is quick and steady on Tansu; the
    group id is fresh anyway and nothing is committed. Returns every record read; callers
    assert on the result, so a timeout returns what was seen rather than raising.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "broker.address.family": "v4",
        }
    )
    seen: list[Received] = []
    try:
        meta = consumer.list_topics(topic, timeout=10)
        parts = meta.topics[topic].partitions if topic in meta.topics else {}
        if not parts:
            raise AssertionError(f"topic {topic} does not exist on {bootstrap}")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if seen and predicate(seen):
                return seen
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise AssertionError(f"consume error on {topic}: {error}")
                seen.append(
                    Received(
                        topic=msg.topic() or topic,
                        partition=msg.partition() or 0,
                        offset=msg.offset() or 0,
                        key=msg.key(),
                        value=msg.value(),
                        headers=_headers(msg.headers()),
                    )
                )
        return seen
    finally:
        consumer.close()
