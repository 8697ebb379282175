"""The screen-pop topic on confluent-kafka: a live feed thread into the hub, and re-reads."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from connectors.gateway.hub import Hub
from connectors.gateway.pops import Decoder, Pop, pop_from_message
from infra.kafka_config import KafkaEndpoint, reader_config
from schemas.confluent import RegistryUnavailable
from schemas.errors import SchemaError

log = structlog.get_logger("c360.gateway.kafka")
_BATCH = 500
_POLL_SECONDS = 0.5
_REREAD_DEADLINE_SECONDS = 20.0
_RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class RereadResult:
    """Pops found again; `gap` when the log no longer holds (or the limit cut) the start."""

    pops: tuple[Pop, ...]
    gap: bool = False


class PopFeed(Protocol):
    """Feeds the hub with every record of the topic from (near) its end."""

    def start(self, loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
        """Begin in the background; hub.start runs once the partitions are assigned."""

    def stop(self) -> None:
        """Stop and release the client."""


class PopLog(Protocol):
    """Random access to the topic, for cursors older than the hub's buffer."""

    async def reread(self, partition: int, start: int, end: int, key: bytes) -> RereadResult:
        """The pops with `key` at offsets [start, end) of `partition`, in order."""


# The last hop of a screen pop: librdkafka's 500 ms default costs ~200 ms per pop on a broker
# that holds fetches until the max wait (Tansu, FACTS M1); Apache Kafka answers as soon as
# data is there, so a low wait costs it only idle fetches.
FETCH_WAIT_MAX_MS = 5


def consumer_config(kafka: KafkaEndpoint, client_id: str) -> dict[str, Any]:
    """Partitions are assigned, never subscribed: every gateway replica must see every
    agent's pops, and no offsets are committed (the client's Last-Event-ID is the cursor)."""
    return reader_config(kafka, client_id, offset_reset="latest",
                         fetch_wait_max_ms=FETCH_WAIT_MAX_MS)


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[int]:
    meta = consumer.list_topics(topic, timeout=timeout)
    info = meta.topics.get(topic)
    if info is None or info.error is not None:
        return []
    return sorted(info.partitions)


class KafkaPopFeed:
    """A daemon thread: assign every partition at `high - warm` (so a restarted gateway
    still knows each agent's recent pops), decode, hand batches to the hub on its loop."""

    def __init__(
        self,
        kafka: KafkaEndpoint,
        topic: str,
        decode: Decoder,
        warm_records: int,
        window_seconds: int = 0,
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._decode = decode
        self._warm = warm_records
        self._window_ms = window_seconds * 1000
        # Partitions whose warm-up started after their low watermark: their first record
        # says whether the read-back covers the recent window (checked once, then dropped).
        self._unchecked: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(loop, hub), name="c360-gateway-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self, loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
        # `following` = partition -> next offset not yet handed to the hub. If the client
        # fails, a new one resumes there, so the hub sees every offset once and in order.
        following: dict[int, int] | None = None
        while not self._stop.is_set():
            consumer = Consumer(consumer_config(self._kafka, "c360-gateway-feed"))
            try:
                if following is None:
                    starts = self._assign(consumer)
                    if starts is None:
                        return
                    following = dict(starts)
                    loop.call_soon_threadsafe(hub.start, starts)
                    log.info("gateway_feed_assigned", topic=self._topic, partitions=len(starts))
                else:
                    consumer.assign([TopicPartition(self._topic, p, o)
                                     for p, o in following.items()])
                    log.info("gateway_feed_resumed", topic=self._topic)
                self._pump(consumer, loop, hub, following)
            except RuntimeError:  # the loop closed under us: the service is going away
                return
            except Exception:  # a dead feed would silently stop every pop: log, then resume
                log.exception("gateway_feed_failed", retry_seconds=_RETRY_SECONDS)
                self._stop.wait(_RETRY_SECONDS)
            finally:
                consumer.close()

    def _pump(
        self,
        consumer: Consumer,
        loop: asyncio.AbstractEventLoop,
        hub: Hub,
        following: dict[int, int],
    ) -> None:
        while not self._stop.is_set():
            batch = [self._record(m) for m in consumer.consume(_BATCH, _POLL_SECONDS)]
            records = [r for r in batch if r is not None]
            if records:
                loop.call_soon_threadsafe(hub.dispatch, records)
                for partition, offset, _pop in records:
                    following[partition] = max(following.get(partition, 0), offset + 1)

    def _assign(self, consumer: Consumer) -> dict[int, int] | None:
        # The broker may still be starting (or the topic not created yet): wait for it
        # without holding up the HTTP service.
        while not self._stop.is_set():
            try:
                partitions = _partitions(consumer, self._topic, 5.0)
                if partitions:
                    starts = {}
                    for p in partitions:
                        low, high = consumer.get_watermark_offsets(
                            TopicPartition(self._topic, p), timeout=5.0
                        )
                        starts[p] = max(low, high - self._warm)
                        if starts[p] > low:
                            self._unchecked.add(p)
                    consumer.assign([TopicPartition(self._topic, p, o) for p, o in starts.items()])
                    return starts
                log.warning("gateway_feed_topic_missing", topic=self._topic)
            except KafkaException as exc:
                log.warning("gateway_feed_broker_unavailable", error=str(exc))
            self._stop.wait(2.0)
        return None

    def _record(self, msg: Any) -> tuple[int, int, Pop | None] | None:
        error = msg.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("gateway_feed_error", code=error.name(), error=error.str())
            return None
        partition, offset = int(msg.partition()), int(msg.offset())
        if partition in self._unchecked:
            self._unchecked.discard(partition)
            self._check_window(partition, msg)
        while True:
            try:
                return partition, offset, pop_from_message(partition, offset, msg.value(),
                                                           self._decode)
            except RegistryUnavailable as exc:
                # Transient: wait for the registry rather than lose the pop (in order: the
                # records after it wait too).
                log.warning("gateway_registry_unavailable", partition=partition,
                            offset=offset, error=str(exc)[:200])
                if self._stop.wait(_RETRY_SECONDS):
                    return None
            except SchemaError as exc:
                # Not ours to dead-letter (the producer's DLQ policy applies); skip, but say
                # where.
                log.warning("gateway_pop_undecodable", partition=partition, offset=offset,
                            error=str(exc)[:200])
                return partition, offset, None


    def _check_window(self, partition: int, msg: Any) -> None:
        """Say so when C360_GATEWAY_WARM_RECORDS did not reach back over the recent window:
        panels opened now may then miss pops of its start (offsets-for-times is not used:
        Tansu answers it wrongly, FACTS.md T8)."""
        kind, first_ms = msg.timestamp()
        if kind == TIMESTAMP_NOT_AVAILABLE or not self._window_ms:
            return
        covered_ms = int(time.time() * 1000) - first_ms
        if covered_ms < self._window_ms:
            log.warning("gateway_warm_window_short", partition=partition,
                        covered_seconds=covered_ms // 1000,
                        window_seconds=self._window_ms // 1000,
                        hint="raise C360_GATEWAY_WARM_RECORDS")


class KafkaPopLog:
    """Re-reads with a short-lived consumer in a worker thread. At most `max_records` are
    scanned per re-read: a client gone for longer gets the newest ones and a gap mark."""

    def __init__(
        self, kafka: KafkaEndpoint, topic: str, decode: Decoder, max_records: int
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._decode = decode
        self._max = max_records

    async def reread(self, partition: int, start: int, end: int, key: bytes) -> RereadResult:
        return await asyncio.to_thread(self._reread, partition, start, end, key)

    def _reread(self, partition: int, start: int, end: int, key: bytes) -> RereadResult:
        consumer = Consumer(consumer_config(self._kafka, "c360-gateway-reread"))
        try:
            low, _high = consumer.get_watermark_offsets(
                TopicPartition(self._topic, partition), timeout=10.0
            )
            first = max(start, low, end - self._max)
            gap = first > start
            if first >= end:
                return RereadResult((), gap)
            consumer.assign([TopicPartition(self._topic, partition, first)])
            pops: list[Pop] = []
            deadline = time.monotonic() + _REREAD_DEADLINE_SECONDS
            last = first - 1
            while last < end - 1 and time.monotonic() < deadline:
                for msg in consumer.consume(_BATCH, _POLL_SECONDS):
                    offset = msg.offset()
                    if msg.error() is not None or offset is None:
                        continue
                    last = max(last, offset)
                    if offset >= end or msg.key() != key:
                        continue
                    try:
                        pops.append(pop_from_message(partition, offset, msg.value(),
                                                     self._decode))
                    except SchemaError:
                        continue
            if last < end - 1:
                log.warning("gateway_reread_incomplete", partition=partition, reached=last,
                            wanted=end - 1)
                gap = True
            return RereadResult(tuple(pops), gap)
        finally:
            consumer.close()
