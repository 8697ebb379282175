"""Where a replay reads (partitions, groups, consumer) and when a partition is done."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from infra.kafka_config import Brokers, endpoint_of, reader_config

# When a partition is done (Tansu 0.6 reports the last batch's base offset + 1 as its high
# watermark, FACTS.md M3, so the watermark alone can stop short of the last batch): a
# partition is finished only once BOTH
#   1. the replay has read up to the high watermark seen at start (the least it owes), and
#   2. a fetch after that point came back empty: librdkafka's partition-EOF event at
#      exactly our next offset, or no record from the partition for `idle_s` of polling
#      (brokers whose watermark is wrong never send a trustworthy EOF).
# Records past the start watermark are replayed too (harmless: the fold is idempotent), but
# at most `tail_s` past the moment the watermark was reached, so a busy live topic cannot
# keep a replay running forever. A partition whose end cannot be read fails the replay.

EOF = KafkaError._PARTITION_EOF  # librdkafka's partition-EOF event code


@dataclass(frozen=True, slots=True)
class Limits:
    """Batching and end-of-partition settings (see the rule above)."""

    batch_size: int = 10_000
    idle_s: float = 1.0
    tail_s: float = 60.0
    poll_s: float = 0.2
    gather_chunk: int = 64  # concurrent merge_entry calls when the store has no merge_many
    per_process: int = 20_000  # records that justify another process (~0.3 s CPU to start)
    max_future_s: int = 86_400  # as C360_MAX_FUTURE_SECONDS: later events are implausible


DEFAULT_LIMITS = Limits()


def replay_consumer(brokers: Brokers) -> Consumer:
    """A consumer for assigned partitions (no group join, nothing committed)."""
    return Consumer(
        reader_config(
            endpoint_of(brokers),
            "c360-replay",
            partition_eof=True,
            # Tansu answers a fetch only at its max wait (FACTS M1): keep it short.
            fetch_wait_max_ms=20,
            partition_fetch_bytes=8 << 20,
            fetch_bytes=32 << 20,
        )
    )


def partitions_of(brokers: Brokers, topic: str) -> list[int]:
    """The topic's partition ids; KafkaException when it does not exist."""
    consumer = replay_consumer(brokers)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        if meta.error is not None:
            raise KafkaException(meta.error)
        return sorted(meta.partitions)
    finally:
        consumer.close()


def sizes_of(brokers: Brokers, topic: str) -> dict[int, int]:
    """Partition -> records by its watermarks (approximate on Tansu: the last batch's
    records beyond its base are not counted)."""
    parts = partitions_of(brokers, topic)
    consumer = replay_consumer(brokers)
    try:
        marks = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts
        }
    finally:
        consumer.close()
    return {p: high - low for p, (low, high) in marks.items()}


def plan_groups(sizes: dict[int, int], workers: int, per_process: int) -> list[list[int]]:
    """Partition groups, one per process: another process only for every `per_process`
    records, largest partitions first to the lightest group."""
    extra = sum(sizes.values()) // per_process if per_process > 0 else workers
    count = max(1, min(workers, len(sizes), 1 + extra))
    groups: list[list[int]] = [[] for _ in range(count)]
    load = [0] * count
    for p in sorted(sizes, key=lambda q: (-sizes[q], q)):
        lightest = load.index(min(load))
        groups[lightest].append(p)
        load[lightest] += sizes[p]
    return [sorted(g) for g in groups if g]


class Ends:
    """Tracks each partition against the end rule (pure: fed by the consume loop)."""

    def __init__(self, start: dict[int, int], end: dict[int, int]) -> None:
        self.end = dict(end)  # high watermark seen at start: the least the replay owes
        self.next = dict(start)  # the next offset to read
        # Silence is counted in time spent inside consume() without a record of the
        # partition, not wall time: a slow batch write must not look like an idle broker.
        self.quiet = dict.fromkeys(start, 0.0)
        self.reached: dict[int, float] = {}
        self.eof: dict[int, int] = {}  # partition -> offset of its last EOF event
        self.todo = set(start)

    def polled(self, heard: set[int], waited: float, now: float, limits: Limits) -> None:
        """After one consume() of `waited` seconds that returned records of `heard`."""
        for p in list(self.todo):
            self.quiet[p] = 0.0 if p in heard else self.quiet[p] + waited
            if self.next[p] < self.end[p]:
                continue
            reached = self.reached.setdefault(p, now)
            if (
                self.eof.get(p) == self.next[p]
                or self.quiet[p] >= limits.idle_s
                or now - reached >= limits.tail_s
            ):
                self.todo.discard(p)


def assign(consumer: Consumer, topic: str, partitions: Sequence[int]) -> Ends:
    start: dict[int, int] = {}
    end: dict[int, int] = {}
    for p in partitions:
        start[p], end[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    consumer.assign([TopicPartition(topic, p, start[p]) for p in partitions])
    return Ends(start, end)


def read_to_end(
    brokers: Brokers, topic: str, client_id: str, timeout: float, limits: Limits
) -> Iterator[tuple[int, bytes]]:
    """Every record of `topic` from its start to its end, (offset, raw value), with replay's
    end rule: the high watermark alone stops short of a batch's later records on Tansu
    (FACTS M3). The tools that list a topic (`c360 dlq`, `c360 audit`) read through this."""
    # A short max wait: Tansu holds every fetch until it (FACTS M1).
    config = reader_config(
        endpoint_of(brokers), client_id, fetch_wait_max_ms=100, partition_eof=True
    )
    consumer = Consumer(config)
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
        if meta.error is not None:
            raise KafkaException(meta.error)
        ends = assign(consumer, topic, sorted(meta.partitions))
        while ends.todo:
            began = time.monotonic()
            messages = consumer.consume(500, timeout=limits.poll_s)
            waited = time.monotonic() - began
            heard: set[int] = set()
            for msg in messages:
                partition, offset = msg.partition() or 0, msg.offset() or 0
                error = msg.error()
                if error is not None:
                    if error.code() == EOF:
                        ends.eof[partition] = offset
                    continue
                heard.add(partition)
                ends.next[partition] = offset + 1
                yield offset, msg.value() or b""
            ends.polled(heard, waited, time.monotonic(), limits)
    finally:
        consumer.close()
