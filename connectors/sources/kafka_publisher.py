"""Awaitable Kafka publishing for aiohttp handlers (confluent-kafka, idempotent) and its twin."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer

from schemas.errors import C360Error

log = structlog.get_logger("c360.ingest.kafka")
# librdkafka's own default; raised with the ingest limit so a dead letter carrying a whole
# payload fits (the broker's limit still applies: its rejection surfaces as too_large).
_DEFAULT_MAX_MESSAGE = 1_000_000
_HEADROOM = 64 * 1024


@dataclass(frozen=True, slots=True)
class Message:
    """One record to publish: topic, key and encoded value."""

    topic: str
    key: bytes | None
    value: bytes


class PublishFailed(C360Error):
    """The broker did not acknowledge every message (transient unless `too_large`)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Publisher(Protocol):
    """Publishes messages and returns only once the broker acknowledged all of them."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Raises PublishFailed when any message is not acknowledged in time; some of the
        others may have been written (callers rely on idempotent ids downstream)."""

    async def close(self) -> None:
        """Flush what is in flight and release the client."""


@dataclass
class InMemoryPublisher:
    """Publisher twin for unit tests: records messages; `fail` makes every publish fail."""

    messages: list[Message] = field(default_factory=list)
    fail: PublishFailed | None = None

    async def publish(self, messages: Sequence[Message]) -> None:
        if self.fail is not None:
            raise self.fail
        self.messages.extend(messages)

    async def close(self) -> None:
        return None


def producer_config(
    bootstrap: str, *, ack_timeout_seconds: float, max_message_bytes: int, client_id: str
) -> dict[str, Any]:
    """librdkafka settings: idempotent (retries never duplicate), acks from all replicas,
    and a bounded delivery time so a webhook answers 503 instead of hanging."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": max(1, int(ack_timeout_seconds * 1000)),
        "message.max.bytes": max(_DEFAULT_MAX_MESSAGE, max_message_bytes + _HEADROOM),
        # Tansu and brokers on loopback: never let librdkafka try ::1 first (FACTS T9).
        "broker.address.family": "v4",
    }


class KafkaPublisher:
    """Publisher on confluent-kafka. The producer is created on first use; a daemon thread
    polls it, and delivery reports settle asyncio futures via call_soon_threadsafe, so the
    event loop never blocks on the broker. A fatal producer error drops the producer and
    the next publish builds a fresh one."""

    def __init__(
        self,
        bootstrap: str,
        *,
        ack_timeout_seconds: float = 10.0,
        max_message_bytes: int = _DEFAULT_MAX_MESSAGE,
        client_id: str = "c360-ingest",
    ) -> None:
        self.config = producer_config(
            bootstrap,
            ack_timeout_seconds=ack_timeout_seconds,
            max_message_bytes=max_message_bytes,
            client_id=client_id,
        )
        self._timeout = ack_timeout_seconds
        self._producer: Producer | None = None
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._fatal: str | None = None
        self._lock = threading.Lock()

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        loop = asyncio.get_running_loop()
        producer = self._ensure()
        futures: list[asyncio.Future[PublishFailed | None]] = []
        try:
            for message in messages:
                fut: asyncio.Future[PublishFailed | None] = loop.create_future()
                producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    on_delivery=_reporter(loop, fut),
                )
                futures.append(fut)
        except BufferError as exc:
            raise PublishFailed("local producer queue is full") from exc
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            too_large = isinstance(err, KafkaError) and err.code() == KafkaError.MSG_SIZE_TOO_LARGE
            raise PublishFailed(f"produce failed: {exc}", too_large=too_large) from exc
        try:
            # message.timeout.ms bounds each delivery; the extra margin only guards against a
            # report that never comes (the poll thread died).
            async with asyncio.timeout(self._timeout + 5):
                errors = await asyncio.gather(*futures, return_exceptions=True)
        except TimeoutError as exc:
            raise PublishFailed("no delivery report in time") from exc
        failed = [e for e in errors if e is not None]
        if failed:
            too_large = any(isinstance(e, PublishFailed) and e.too_large for e in failed)
            raise PublishFailed(f"{len(failed)} of {len(messages)} not acknowledged: "
                                f"{failed[0]}", too_large=too_large)

    def _ensure(self) -> Producer:
        with self._lock:
            if self._fatal is not None and self._producer is not None:
                log.warning("kafka_producer_recreated", after=self._fatal)
                self._stop_thread()
                self._producer = None
            if self._producer is None:
                self._fatal = None
                self._producer = Producer({**self.config, "error_cb": self._on_error})
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=_poll_loop, args=(self._producer, self._stop),
                    name="c360-ingest-kafka-poll", daemon=True,
                )
                self._thread.start()
            return self._producer

    def _on_error(self, err: KafkaError) -> None:
        # Runs in the poll thread. Transient errors (all brokers down) are librdkafka's to
        # retry; a fatal one (idempotence state lost) needs a new producer.
        if err.fatal():
            self._fatal = err.str()
            log.error("kafka_producer_fatal", error=err.str())
        else:
            log.warning("kafka_producer_error", code=err.name(), error=err.str())

    def _stop_thread(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._stop = self._thread = None

    async def close(self) -> None:
        producer = self._producer
        if producer is None:
            return
        remaining = await asyncio.to_thread(producer.flush, self._timeout)
        with self._lock:
            self._stop_thread()
            self._producer = None
        if remaining:
            log.warning("kafka_producer_closed_with_undelivered", count=remaining)


def _poll_loop(producer: Producer, stop: threading.Event) -> None:
    while not stop.is_set():
        producer.poll(0.1)


def _reporter(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[PublishFailed | None]) -> Any:
    def report(err: KafkaError | None, _msg: object) -> None:
        outcome: PublishFailed | None = None
        if err is not None:
            outcome = PublishFailed(
                err.str(), too_large=err.code() == KafkaError.MSG_SIZE_TOO_LARGE
            )
        # The loop may be closed already (shutdown with messages in flight): nobody waits.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, fut, outcome)

    return report


def _settle(fut: asyncio.Future[PublishFailed | None], outcome: PublishFailed | None) -> None:
    # The failure is the result, not the future's exception: nothing to warn about when a
    # timed-out caller already gave up on it.
    if not fut.done():  # cancelled by a timed-out caller
        fut.set_result(outcome)
