"""Contracts for the gateway's PopFeed and PopLog: InMemoryPopTopic and Kafka pass them alike."""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors.gateway.kafka_feed import KafkaPopFeed, KafkaPopLog, PopFeed, PopLog
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.pops import Pop, agent_key
from infra.kafka_config import KafkaEndpoint
from schemas import codec
from schemas.topics import DEFAULT_PARTITIONS, SCREENPOPS
from tests.gateway_helpers import pop
from tests.kafka_helpers import make_producer

KEY = agent_key("demo", "ag-1")
OTHER = agent_key("demo", "ag-2")
GARBAGE = b"\x00not avro"


def value(agent: str = "ag-1") -> bytes:
    """An encoded ScreenPopRequested for `agent` of tenant demo."""
    return codec.encode(pop(agent))


class RecordingHub:
    """The two Hub calls a feed makes, recorded (Hub's own behaviour is tested elsewhere)."""

    def __init__(self) -> None:
        self.starts: list[dict[int, int]] = []
        self.records: list[tuple[int, int, Pop | None]] = []

    def start(self, starts: dict[int, int]) -> None:
        self.starts.append(dict(starts))

    def dispatch(self, records: Any) -> None:
        self.records.extend(records)


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class TopicBacked(abc.ABC):
    """The topic under a feed or log: records are written to it and read through it."""

    partitions = DEFAULT_PARTITIONS

    @abc.abstractmethod
    def append(self, partition: int, key: bytes | None, value: bytes | None) -> int:
        """Write one record (acknowledged before this returns); its offset."""


class PopFeedContract(TopicBacked):
    """What every PopFeed must do."""

    @abc.abstractmethod
    def make_feed(self) -> PopFeed:
        """A feed of the topic that starts at its end (no warm-up records)."""

    @pytest.fixture
    async def started(self) -> AsyncIterator[tuple[PopFeed, RecordingHub]]:
        """A feed started on a recording hub, stopped after the test."""
        self.append(0, KEY, value())  # before the start: not handed to the hub
        self.append(0, KEY, value())
        feed, hub = self.make_feed(), RecordingHub()
        feed.start(asyncio.get_running_loop(), hub)  # type: ignore[arg-type]
        await until(lambda: bool(hub.starts))
        yield feed, hub
        await asyncio.to_thread(feed.stop)

    async def test_the_hub_starts_once_at_the_end_of_every_partition(self, started) -> None:
        _feed, hub = started
        expected = dict.fromkeys(range(self.partitions), 0) | {0: 2}
        assert hub.starts == [expected]
        assert hub.records == []

    async def test_new_records_reach_the_hub_in_order_with_their_offsets(self, started) -> None:
        _feed, hub = started
        written = [(p, self.append(p, KEY, value())) for p in (1, 0, 1, 1)]
        await until(lambda: len(hub.records) == len(written))
        for partition in (0, 1):
            got = [(p, o) for p, o, _pop in hub.records if p == partition]
            assert got == [w for w in written if w[0] == partition]
        for partition, offset, found in hub.records:
            assert found is not None and (found.partition, found.offset) == (partition, offset)
            assert (found.tenant, found.agent) == ("demo", "ag-1")

    async def test_an_undecodable_record_reaches_the_hub_as_none(self, started) -> None:
        """Its offset still advances the hub; the records after it arrive."""
        _feed, hub = started
        bad = self.append(2, KEY, GARBAGE)
        tombstone = self.append(2, KEY, None)
        good = self.append(2, OTHER, value("ag-2"))
        await until(lambda: len(hub.records) == 3)
        assert [(p, o) for p, o, _ in hub.records] == [(2, bad), (2, tombstone), (2, good)]
        assert hub.records[0][2] is None and hub.records[1][2] is None
        assert hub.records[2][2] is not None and hub.records[2][2].agent == "ag-2"

    async def test_nothing_reaches_the_hub_after_stop(self, started) -> None:
        feed, hub = started
        self.append(3, KEY, value())
        await until(lambda: len(hub.records) == 1)
        await asyncio.to_thread(feed.stop)
        self.append(3, KEY, value())
        await asyncio.sleep(0.5)
        assert len(hub.records) == 1


class PopLogContract(TopicBacked):
    """What every PopLog must do."""

    @abc.abstractmethod
    def make_log(self, max_records: int = 1_000) -> PopLog:
        """A log of the topic scanning at most `max_records` per re-read."""

    def truncate(self, partition: int, before: int) -> bool:
        """Drop the partition's records below `before` (retention); False when unsupported."""
        return False

    async def test_a_reread_returns_the_keys_pops_in_the_range_in_order(self) -> None:
        offsets = [
            self.append(1, key, value(agent))
            for key, agent in (
                (KEY, "ag-1"),
                (OTHER, "ag-2"),
                (KEY, "ag-1"),
                (KEY, "ag-1"),
                (KEY, "ag-1"),
            )
        ]
        result = await self.make_log().reread(1, offsets[0], offsets[3], KEY)
        assert [p.offset for p in result.pops] == [offsets[0], offsets[2]]
        assert {(p.partition, p.tenant, p.agent) for p in result.pops} == {(1, "demo", "ag-1")}
        assert result.gap is False

    async def test_undecodable_records_and_other_keys_are_skipped(self) -> None:
        self.append(2, KEY, GARBAGE)
        self.append(2, KEY, None)
        self.append(2, OTHER, value("ag-2"))
        last = self.append(2, KEY, value())
        result = await self.make_log().reread(2, 0, last + 1, KEY)
        assert [p.offset for p in result.pops] == [last]
        assert result.gap is False

    async def test_an_empty_range_finds_nothing_and_no_gap(self) -> None:
        self.append(0, KEY, value())
        result = await self.make_log().reread(0, 1, 1, KEY)
        assert (result.pops, result.gap) == ((), False)

    async def test_the_scan_limit_keeps_the_newest_and_marks_a_gap(self) -> None:
        offsets = [self.append(3, KEY, value()) for _ in range(5)]
        result = await self.make_log(max_records=2).reread(3, offsets[0], offsets[-1] + 1, KEY)
        assert [p.offset for p in result.pops] == offsets[-2:]
        assert result.gap is True

    async def test_a_start_the_log_no_longer_holds_is_a_gap(self) -> None:
        offsets = [self.append(0, KEY, value()) for _ in range(4)]
        if not self.truncate(0, offsets[2]):
            pytest.skip("this log cannot drop records on demand")
        result = await self.make_log().reread(0, offsets[0], offsets[-1] + 1, KEY)
        assert [p.offset for p in result.pops] == offsets[2:]
        assert result.gap is True


# --- the twin ---------------------------------------------------------------------------


class MemoryTopic(TopicBacked):
    """Records in the twin's per-partition lists."""

    @pytest.fixture(autouse=True)
    def _topic(self) -> None:
        self.topic = InMemoryPopTopic(self.partitions)

    def append(self, partition: int, key: bytes | None, value: bytes | None) -> int:
        return self.topic.append(partition, key, value)


class TestInMemoryPopFeed(MemoryTopic, PopFeedContract):
    """The twin as a feed."""

    def make_feed(self) -> PopFeed:
        return self.topic


class TestInMemoryPopLog(MemoryTopic, PopLogContract):
    """The twin as a log (`low` is its retention)."""

    def make_log(self, max_records: int = 1_000) -> PopLog:
        log = InMemoryPopTopic(self.partitions, max_records=max_records)
        log.log, log.low = self.topic.log, self.topic.low
        return log

    def truncate(self, partition: int, before: int) -> bool:
        self.topic.low[partition] = before
        return True


# --- confluent-kafka on the session's broker ----------------------------------------------


class KafkaTopic(TopicBacked):
    """The screen-pop topic of a fresh prefix on the real broker."""

    @pytest.fixture(autouse=True)
    def _topic(self, kafka_bootstrap: str, topic_prefix: str) -> Iterator[None]:
        self.bootstrap, self.topic = kafka_bootstrap, topic_prefix + SCREENPOPS
        self.producer: Producer = make_producer(kafka_bootstrap)
        yield
        self.producer.flush(10)
        del self.producer  # librdkafka's client goes now, not when the broker has gone

    def append(self, partition: int, key: bytes | None, value: bytes | None) -> int:
        acks: list[Any] = []
        self.producer.produce(
            self.topic,
            value=value,
            key=key,
            partition=partition,
            on_delivery=lambda err, msg: acks.append((err, msg)),
        )
        self.producer.flush(30)
        [(err, msg)] = acks
        assert err is None, err
        return int(msg.offset())


@pytest.mark.integration
class TestKafkaPopFeed(KafkaTopic, PopFeedContract):
    """KafkaPopFeed (no warm-up records)."""

    def make_feed(self) -> PopFeed:
        return KafkaPopFeed(KafkaEndpoint(self.bootstrap), self.topic, codec.decode, 0)


@pytest.mark.integration
class TestKafkaPopLog(KafkaTopic, PopLogContract):
    """KafkaPopLog; retention by DeleteRecords where the broker supports it."""

    def make_log(self, max_records: int = 1_000) -> PopLog:
        return KafkaPopLog(KafkaEndpoint(self.bootstrap), self.topic, codec.decode, max_records)

    def truncate(self, partition: int, before: int) -> bool:
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "broker.address.family": "v4"})
        futures = admin.delete_records(
            [TopicPartition(self.topic, partition, before)], request_timeout=10
        )
        try:
            for future in futures.values():
                future.result(15)
        except Exception:  # Tansu may not implement DeleteRecords: say so, do not fail
            return False
        return True
