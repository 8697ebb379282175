"""Committed offsets outside the log: the start decision, the assignment guard, and
out-of-range errors surfacing in the consume loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, OFFSET_INVALID, KafkaError, TopicPartition
from structlog.testing import capture_logs

from connectors.crm.kafka_consumer import (
    BELOW_LOG_START,
    BEYOND_LOG_END,
    OUT_OF_RANGE,
    ConsumeLoop,
    Done,
    OffsetGuard,
    StartAt,
    start_after_probe,
    start_for,
)


@pytest.mark.parametrize(
    ("committed", "low", "high", "start"),
    [
        (OFFSET_INVALID, 0, 10, StartAt(OFFSET_BEGINNING)),  # first start: no alarm
        (0, 0, 0, StartAt(0)),  # empty log, nothing read
        (7, 0, 10, StartAt(7)),
        (10, 0, 10, StartAt(10)),  # caught up
        (3, 5, 10, StartAt(OFFSET_BEGINNING, BELOW_LOG_START)),  # truncated from the front
        (11, 0, 10, None),  # above the watermark: only a fetch can tell (Tansu, FACTS M3)
        (19_000, 0, 0, None),  # a reset broker's empty topic
    ],
)
def test_start_for(committed: int, low: int, high: int, start: StartAt | None) -> None:
    assert start_for(committed, low, high) == start


def test_after_the_probe_a_record_before_the_commit_keeps_it() -> None:
    """The watermark was behind (Tansu): the commit stands; nothing there: from earliest."""
    assert start_after_probe(13, record_before=True) == StartAt(13)
    assert start_after_probe(13, record_before=False) == StartAt(OFFSET_BEGINNING,
                                                                 BEYOND_LOG_END)


@dataclass
class FakeConsumer:
    """committed/watermarks by partition; records assign and seek calls."""

    commits: dict[int, int]
    marks: dict[int, tuple[int, int]]
    assigned: list[tuple[int, int]] = field(default_factory=list)
    seeks: list[tuple[int, int]] = field(default_factory=list)
    message: Any = None

    def committed(self, parts: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(p.topic, p.partition, self.commits.get(p.partition,
                                                                      OFFSET_INVALID))
                for p in parts]

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float,
                              cached: bool) -> tuple[int, int]:
        assert cached is False  # a cached watermark could be the old broker's
        return self.marks[tp.partition]

    def assign(self, parts: list[TopicPartition]) -> None:
        self.assigned = [(p.partition, p.offset) for p in parts]

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append((tp.partition, tp.offset))

    def poll(self, _timeout: float) -> Any:
        msg, self.message = self.message, None
        return msg


def test_the_guard_assigns_explicit_starts_and_resets_loudly() -> None:
    """Partition 0 kept, 1 never committed, 2 beyond the end of a reset broker's log (the
    probe finds nothing), 3 above a too-small watermark but with the record there."""
    consumer = FakeConsumer(commits={0: 5, 2: 19_000, 3: 13},
                            marks={0: (0, 9), 1: (0, 3), 2: (0, 0), 3: (0, 4)})
    probed: list[tuple[int, int]] = []

    def probe(_topic: str, partition: int, offset: int) -> bool:
        probed.append((partition, offset))
        return partition == 3

    guard = OffsetGuard(probe)
    parts = [TopicPartition("t", p) for p in range(4)]
    with capture_logs() as logs:
        guard.on_assign(consumer, parts)  # type: ignore[arg-type]
    assert consumer.assigned == [(0, 5), (1, OFFSET_BEGINNING), (2, OFFSET_BEGINNING), (3, 13)]
    assert probed == [(2, 18_999), (3, 12)]
    assert guard.resets == 1
    [event] = [e for e in logs if e["event"] == "offset_reset"]
    assert event["log_level"] == "error"
    assert (event["partition"], event["reason"], event["committed"], event["high"]) == (
        2, BEYOND_LOG_END, 19_000, 0)
    assert event["offset_resets_total"] == 1


class ErrorMessage:
    """What poll() returns for a partition error."""

    def __init__(self, code: int) -> None:
        self._error = KafkaError(code)

    def error(self) -> KafkaError:
        return self._error

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 4


@pytest.mark.parametrize("code", [KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET])
async def test_an_out_of_range_error_seeks_to_earliest_counted(code: int) -> None:
    consumer = FakeConsumer(commits={}, marks={}, message=ErrorMessage(code))

    async def handle(_msg: Any) -> Done:
        raise AssertionError("an error is not a record")

    guard = OffsetGuard(lambda *_: True)
    loop = ConsumeLoop(consumer, handle, guard=guard)  # type: ignore[arg-type]
    with capture_logs() as logs:
        await loop.step()
    assert consumer.seeks == [(4, OFFSET_BEGINNING)]
    assert guard.resets == 1
    assert [(e["event"], e["reason"]) for e in logs if e["log_level"] == "error"] == [
        ("offset_reset", OUT_OF_RANGE)]
