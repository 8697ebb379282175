"""Faust's aiokafka transport with a configurable consumer fetch wait (`c360kafka://`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "c360kafka"
# Faust 0.15 builds its worker consumer with fetch_max_wait_ms=1500 and no setting changes
# it; a broker that holds a fetch until its max wait even when records are there (Tansu,
# FACTS.md M1/M2) then adds up to 1.5 s to every hop. Apache Kafka answers as soon as
# fetch.min.bytes is met, so a low wait costs it only more idle fetches.
DEFAULT_FETCH_MAX_WAIT_MS = 5
_fetch_max_wait_ms = [DEFAULT_FETCH_MAX_WAIT_MS]


def set_fetch_max_wait_ms(value: int) -> None:
    """The max fetch wait of every worker consumer built after this call (per process)."""
    _fetch_max_wait_ms[0] = max(1, int(value))


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread; the consumer it builds waits at most the configured time."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the value here and hands it to its Fetcher in start(), which runs
        # after this method returns (checked against aiokafka 0.14; a test asserts it).
        consumer._fetch_max_wait_ms = _fetch_max_wait_ms[0]
        return consumer


class Consumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with the thread above."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with the consumer above; URL scheme `c360kafka://`."""

    Consumer = Consumer


def register() -> None:
    """Make `c360kafka://host:port` resolve to this transport (idempotent)."""
    TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")


async def record_exists(
    bootstrap: str, topic: str, partition: int, offset: int, auth: Mapping[str, Any] | None = None
) -> bool:
    """Whether the partition still holds the record at `offset` (one short-lived fetch);
    `auth`: the security keywords (streams.kafka_credentials.aiokafka_auth)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: PLC0415 - rare probe

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=200,
        **(auth or {}),
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        try:
            got = await consumer.getmany(tp, timeout_ms=2000)
        except Exception:  # out of range (Apache Kafka), or any failure: not there
            return False
        return any(record.offset == offset for records in got.values() for record in records)
    finally:
        await consumer.stop()
