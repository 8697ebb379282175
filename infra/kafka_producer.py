"""The one Kafka producer: idempotent, acks=all, awaitable or blocking; and its twin."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from confluent_kafka import KafkaError, KafkaException, Producer

from infra.kafka_config import Brokers, KafkaEndpoint, endpoint_of, producer_config
from schemas.errors import C360Error

log = structlog.get_logger("c360.kafka.producer")


@dataclass(frozen=True, slots=True)
class Message:
    """One record to publish: topic (prefixed), key and encoded value."""

    topic: str
    key: bytes | None
    value: bytes


class PublishFailed(C360Error):
    """The broker did not acknowledge every message: transient (retry, do not commit),
    unless `too_large` (the broker or the client refuses a record of that size)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Publisher(Protocol):
    """Publishes messages and returns only once the broker acknowledged all of them."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Raises PublishFailed when any message is not acknowledged in time; some of the
        others may have been written (consumers dedupe by idempotent ids)."""

    async def close(self) -> None:
        """Flush what is in flight and release the client."""


class KafkaProducer:
    """Publisher on confluent-kafka, for asyncio callers (`publish`) and for CLI tools
    (`publish_blocking`). The client is created on first use. For asyncio callers a daemon
    thread polls it and delivery reports settle futures via call_soon_threadsafe, so the
    event loop never blocks on the broker. A fatal producer error (idempotence state lost)
    drops the client and the next publish builds a fresh one."""

    def __init__(
        self,
        endpoint: KafkaEndpoint,
        client_id: str,
        *,
        delivery_timeout_s: float = 30.0,
        linger_ms: int = 2,
        max_message_bytes: int | None = None,
    ) -> None:
        self.config = producer_config(
            endpoint,
            client_id,
            delivery_timeout_s=delivery_timeout_s,
            linger_ms=linger_ms,
            max_message_bytes=max_message_bytes,
        )
        self._timeout = delivery_timeout_s
        self._producer: Producer | None = None
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._fatal: str | None = None
        # The broker's last complaint (a wrong security.protocol, a refused SASL login),
        # named in PublishFailed: a delivery timeout alone does not say why. librdkafka's
        # error strings never include the SASL password.
        self._last_error: str | None = None
        self._lock = threading.Lock()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Produce all and wait for every delivery report without blocking the loop."""
        if not messages:
            return
        loop = asyncio.get_running_loop()
        producer = self._ensure(poll_thread=True)
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
            raise _produce_failed(exc) from exc
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
            raise PublishFailed(
                f"{len(failed)} of {len(messages)} not acknowledged: {failed[0]}{self._why()}",
                too_large=too_large,
            )

    def publish_blocking(self, messages: Iterable[Message]) -> int:
        """Produce all and flush (a CLI tool's whole job); returns the count. A full local
        queue waits for deliveries to drain instead of failing."""
        producer = self._ensure(poll_thread=False)
        errors: list[str] = []

        def on_delivery(err: KafkaError | None, _msg: object) -> None:
            if err is not None:
                errors.append(err.str())

        count = 0
        for message in messages:
            while True:
                try:
                    producer.produce(
                        message.topic, value=message.value, key=message.key, on_delivery=on_delivery
                    )
                    break
                except BufferError:
                    producer.poll(0.5)
                except KafkaException as exc:
                    raise _produce_failed(exc) from exc
            count += 1
            producer.poll(0)
        remaining = producer.flush(self._timeout + 5)
        if remaining or errors:
            raise PublishFailed(
                f"{remaining} undelivered, {len(errors)} failed: {errors[:3]}{self._why()}"
            )
        return count

    def _ensure(self, *, poll_thread: bool) -> Producer:
        with self._lock:
            if self._fatal is not None and self._producer is not None:
                log.warning("kafka_producer_recreated", after=self._fatal)
                self._stop_thread()
                self._producer = None
            if self._producer is None:
                self._fatal = None
                self._producer = Producer({**self.config, "error_cb": self._on_error})
            if poll_thread and self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=_poll_loop,
                    args=(self._producer, self._stop),
                    name=f"{self.config['client.id']}-kafka-poll",
                    daemon=True,
                )
                self._thread.start()
            return self._producer

    def _why(self) -> str:
        return f" (last broker error: {self._last_error})" if self._last_error else ""

    def _on_error(self, err: KafkaError) -> None:
        # Runs in whichever thread polls. Transient errors (all brokers down) are
        # librdkafka's to retry; a fatal one needs a new producer.
        self._last_error = err.str()
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
        """Flush what is in flight (in a thread), then release the client."""
        await asyncio.to_thread(self.close_blocking)

    def close_blocking(self) -> None:
        """Flush what is in flight, then release the client."""
        producer = self._producer
        if producer is None:
            return
        remaining = producer.flush(self._timeout)
        with self._lock:
            self._stop_thread()
            self._producer = None
        if remaining:
            log.warning("kafka_producer_closed_with_undelivered", count=remaining)


def make_producer(brokers: Brokers, client_id: str = "c360-cli") -> KafkaProducer:
    """The CLI tools' producer: batches for 5 ms (bulk files), a minute per delivery."""
    return KafkaProducer(endpoint_of(brokers), client_id, delivery_timeout_s=60.0, linger_ms=5)


def produce_all(
    producer: KafkaProducer, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> int:
    """Produce (key, value) pairs to `topic` and wait until the broker acked all; returns
    the count. Raises PublishFailed."""
    return producer.publish_blocking(Message(topic, key, value) for key, value in records)


@dataclass(slots=True)
class InMemoryPublisher:
    """The producer's twin for tests: keeps what was published. `fail` makes every publish
    raise it; `fail_next` makes that many publishes raise before the others succeed."""

    messages: list[Message] = field(default_factory=list)
    fail: PublishFailed | None = None
    fail_next: int = 0
    # librdkafka's default message.max.bytes: an oversized message fails as it would on Kafka.
    max_message_bytes: int = 1_000_000

    async def publish(self, messages: Sequence[Message]) -> None:
        self.publish_blocking(messages)

    def publish_blocking(self, messages: Iterable[Message]) -> int:
        if self.fail is not None:
            raise self.fail
        if self.fail_next:
            self.fail_next -= 1
            raise PublishFailed("scripted failure")
        batch = list(messages)
        if any(len(m.value) + len(m.key or b"") > self.max_message_bytes for m in batch):
            raise PublishFailed("message too large", too_large=True)
        self.messages.extend(batch)
        return len(batch)

    async def close(self) -> None:
        return None


def _produce_failed(exc: KafkaException) -> PublishFailed:
    err = exc.args[0] if exc.args else None
    too_large = isinstance(err, KafkaError) and err.code() == KafkaError.MSG_SIZE_TOO_LARGE
    return PublishFailed(f"produce failed: {exc}", too_large=too_large)


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
