"""The sink's consume loop: commit after success only; pause a partition, retry, resume."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

log = structlog.get_logger("c360.crm.consumer")
PartitionKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Done:
    """The message is finished (written, skipped or dead-lettered): commit past it."""


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Transient failure: pause the partition, come back to this offset after `delay` s."""

    delay: float


Outcome = Done | RetryLater
OUT_OF_RANGE_CODES = frozenset({KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET})
Handler = Callable[[Message], Awaitable[Outcome]]


# Activities are not latency-critical, but librdkafka's 500 ms max wait is paid per fetch on
# brokers that hold fetches until it expires (Tansu, FACTS M1). The rest of the group
# consumer's config (manual commits after the CRM accepted or the DLQ took a record) is
# infra.kafka_config.group_consumer_config.
FETCH_WAIT_MAX_MS = 50


@dataclass(slots=True)
class Pauses:
    """Partitions waiting to retry a failed offset, and when they may resume."""

    waiting: dict[PartitionKey, tuple[int, float]] = field(default_factory=dict)

    def pause(self, key: PartitionKey, offset: int, resume_at: float) -> None:
        """Hold the partition at `offset` until `resume_at` (monotonic seconds)."""
        self.waiting[key] = (offset, resume_at)

    def due(self, now: float) -> list[tuple[PartitionKey, int]]:
        """Partitions whose wait is over (removed from the waiting set)."""
        ready = [(k, off) for k, (off, at) in self.waiting.items() if at <= now]
        for key, _ in ready:
            del self.waiting[key]
        return ready

    def next_wakeup(self, now: float, default: float) -> float:
        """How long the loop may block in poll before a partition is due."""
        if not self.waiting:
            return default
        return max(0.0, min(default, min(at for _, at in self.waiting.values()) - now))

    def drop(self, keys: list[PartitionKey]) -> None:
        """Forget revoked partitions: their new owner starts from the committed offset."""
        for key in keys:
            self.waiting.pop(key, None)


BELOW_LOG_START = "below_log_start"
BEYOND_LOG_END = "beyond_log_end"
OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True, slots=True)
class StartAt:
    """Where an assigned partition starts: `offset` (a real one, or OFFSET_BEGINNING), and
    `reset` naming why the group's committed offset was abandoned (None: kept, or none)."""

    offset: int
    reset: str | None = None


def start_for(committed: int, low: int, high: int) -> StartAt | None:
    """The start of an assigned partition from its committed offset and watermarks; None
    when only a fetch can tell (committed above the high watermark).

    A committed offset outside the log is a reset broker or a truncated log: continuing
    there would wait for offsets that may never come (a silent stall) or skip what is
    there, so the policy is to start again from the earliest record (the ledger and the
    CRM upsert by idempotency key make the replay harmless). Above the high watermark is
    not proof on Tansu, which reports the last batch's base offset + 1 (FACTS M3)."""
    if committed < 0:
        return StartAt(OFFSET_BEGINNING)  # nothing committed yet: auto.offset.reset's case
    if committed < low:
        return StartAt(OFFSET_BEGINNING, BELOW_LOG_START)
    if committed <= high:
        return StartAt(committed)
    return None


def start_after_probe(committed: int, record_before: bool) -> StartAt:
    """Committed above the high watermark: kept when the record just before it exists
    (the watermark was behind), else the log ends before it: start from the earliest."""
    return StartAt(committed) if record_before else StartAt(OFFSET_BEGINNING, BEYOND_LOG_END)


Probe = Callable[[str, int, int], bool]


def fetch_probe(config: dict[str, Any], wait: float = 3.0) -> Probe:
    """probe(topic, partition, offset): True when a fetch at `offset` returns a record at
    or after it within `wait` s. A group-less consumer assigned by hand (it never commits);
    Tansu answers a fetch beyond the end with nothing rather than OFFSET_OUT_OF_RANGE."""

    def probe(topic: str, partition: int, offset: int) -> bool:
        conf = {
            **config,
            "group.id": f"{config.get('group.id', 'c360')}-probe",
            "enable.auto.commit": False,
            "auto.offset.reset": "error",
        }
        consumer = Consumer(conf)
        try:
            consumer.assign([TopicPartition(topic, partition, offset)])
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None:
                    continue
                if msg.error() is not None:
                    return False  # out of range (a broker that says so) or unreadable
                return (msg.offset() or 0) >= offset
            return False
        finally:
            consumer.close()

    return probe


@dataclass(slots=True)
class OffsetGuard:
    """Checks every assignment (start and rebalance) for committed offsets outside the log
    and starts those partitions from the earliest record, loudly (`offset_reset` at error
    level) and counted (`resets`)."""

    probe: Probe
    timeout: float = 10.0
    resets: int = 0

    def on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        """Assign with explicit start offsets (the callback owns the assignment)."""
        try:
            committed = consumer.committed(parts, timeout=self.timeout)
        except KafkaException as exc:
            # Unknown committed offsets: let the client start as it would have.
            log.warning("offset_check_failed", error=str(exc))
            consumer.assign(parts)
            return
        consumer.assign([self._start(consumer, tp) for tp in committed])

    def _start(self, consumer: Consumer, tp: TopicPartition) -> TopicPartition:
        topic, partition, offset = tp.topic, tp.partition, int(tp.offset)
        try:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=self.timeout, cached=False
            )
        except KafkaException as exc:
            log.warning("offset_check_failed", topic=topic, partition=partition, error=str(exc))
            return TopicPartition(topic, partition, offset)
        start = start_for(offset, low, high)
        if start is None:
            start = start_after_probe(offset, self.probe(topic, partition, offset - 1))
        if start.reset is not None:
            self.reset(topic, partition, start.reset, committed=offset, low=low, high=high)
        return TopicPartition(topic, partition, start.offset)

    def reset(self, topic: str, partition: int, reason: str, **where: int) -> None:
        """Count and say it: records between the old position and the log's end were
        either never there (a reset broker) or are gone; what remains is read again."""
        self.resets += 1
        log.error(
            "offset_reset",
            topic=topic,
            partition=partition,
            reason=reason,
            reset_to="earliest",
            offset_resets_total=self.resets,
            **where,
        )


@dataclass(slots=True)
class ConsumeLoop:
    """Poll -> handle -> commit, one record at a time; a failing partition is paused while
    the others keep flowing, and polling never stops (max.poll.interval stays satisfied)."""

    consumer: Consumer
    handle: Handler
    poll_timeout: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    pauses: Pauses = field(default_factory=Pauses)
    committed: int = 0
    guard: OffsetGuard | None = None

    def subscribe(self, topics: list[str]) -> None:
        """Join the group; revoked partitions lose their pending retry; with a guard, each
        assignment's committed offsets are checked against the log first."""

        def on_revoke(_consumer: Consumer, parts: list[TopicPartition]) -> None:
            self.pauses.drop([(p.topic, p.partition) for p in parts])

        if self.guard is None:
            self.consumer.subscribe(topics, on_revoke=on_revoke)
        else:
            self.consumer.subscribe(topics, on_assign=self.guard.on_assign, on_revoke=on_revoke)

    async def run(self, should_stop: Callable[[], bool]) -> None:
        """Until `should_stop()`; then the caller closes the consumer (leaves the group)."""
        while not should_stop():
            await self.step()
            # poll() blocks outside the event loop: yield so signal handlers and the
            # adapters' housekeeping get to run between records.
            await asyncio.sleep(0)

    async def step(self) -> None:
        """Resume due partitions, poll once, handle what came."""
        now = self.monotonic()
        for (topic, partition), offset in self.pauses.due(now):
            tp = TopicPartition(topic, partition, offset)
            # pause() dropped the prefetched records and resume() would continue after the
            # last record handed to us, i.e. past the failed one: rewind first (librdkafka
            # #2557), then resume.
            try:
                self.consumer.seek(tp)
            except KafkaException as exc:
                log.warning("seek_failed", topic=topic, partition=partition, error=str(exc))
            self.consumer.resume([TopicPartition(topic, partition)])
        msg = self.consumer.poll(self.pauses.next_wakeup(now, self.poll_timeout))
        if msg is None:
            return
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            if error.code() in OUT_OF_RANGE_CODES:
                self._out_of_range(msg)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("consume_error", error=str(error))
            return
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        if (topic, partition) in self.pauses.waiting:
            return  # fetched before the pause; it comes again after the rewind
        outcome = await self.handle(msg)
        if isinstance(outcome, RetryLater):
            self.consumer.pause([TopicPartition(topic, partition)])
            self.pauses.pause((topic, partition), offset, self.monotonic() + outcome.delay)
            return
        self._commit(topic, partition, offset)

    def _out_of_range(self, msg: Message) -> None:
        """The broker said the position is outside the log (librdkafka normally resets by
        itself with auto.offset.reset=earliest; this is for errors that still surface):
        the same policy as at assignment, from the earliest record."""
        topic, partition = msg.topic() or "", msg.partition() or 0
        if self.guard is not None:
            self.guard.reset(topic, partition, OUT_OF_RANGE)
        else:
            log.error(
                "offset_reset",
                topic=topic,
                partition=partition,
                reason=OUT_OF_RANGE,
                reset_to="earliest",
            )
        try:
            self.consumer.seek(TopicPartition(topic, partition, OFFSET_BEGINNING))
        except KafkaException as exc:
            log.warning("seek_failed", topic=topic, partition=partition, error=str(exc))

    def _commit(self, topic: str, partition: int, offset: int) -> None:
        try:
            self.consumer.commit(
                offsets=[TopicPartition(topic, partition, offset + 1)], asynchronous=False
            )
            self.committed += 1
        except KafkaException as exc:
            # A rebalance took the partition: its new owner re-reads from the last commit,
            # which the ledger/CRM upsert by key turn into a no-op.
            log.warning("commit_failed", topic=topic, partition=partition, error=str(exc))
