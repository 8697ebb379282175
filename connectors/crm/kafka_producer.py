"""Results and dead letters out of the CRM sink: an idempotent producer that waits for acks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from confluent_kafka import KafkaException, Producer

from schemas.errors import C360Error

log = structlog.get_logger("c360.crm.producer")
Record = tuple[str, bytes | None, bytes]  # topic (prefixed), key, value


class PublishFailed(C360Error):
    """The broker did not acknowledge every record (transient: retry, do not commit)."""


class ResultPublisher(Protocol):
    """Publishes records and returns only once the broker acknowledged all of them."""

    def publish(self, records: Sequence[Record]) -> None:
        """Raises PublishFailed when any record is not acknowledged."""
        ...

    def close(self) -> None:
        """Flush what is in flight and release the client."""
        ...


def producer_config(bootstrap: str, client_id: str) -> dict[str, Any]:
    """Idempotent (a retried send never duplicates a result), acks from all replicas,
    IPv4 (FACTS T9), and a bounded delivery time so a dead broker surfaces as an error."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "message.timeout.ms": 30_000,
        "broker.address.family": "v4",
    }


class KafkaResultPublisher:
    """ResultPublisher on a confluent-kafka Producer."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._producer = Producer(config)

    def publish(self, records: Sequence[Record]) -> None:
        errors: list[str] = []

        def on_delivery(err: object, _msg: object) -> None:
            if err is not None:
                errors.append(str(err))

        try:
            for topic, key, value in records:
                self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
        except (BufferError, KafkaException) as exc:
            raise PublishFailed(f"produce failed: {exc}") from exc
        remaining = self._producer.flush(35)
        if remaining or errors:
            raise PublishFailed(f"{remaining} unacknowledged, errors: {errors[:3]}")

    def close(self) -> None:
        left = self._producer.flush(10)
        if left:
            log.warning("producer_closed_with_unsent_records", count=left)


@dataclass(slots=True)
class InMemoryResultPublisher:
    """ResultPublisher twin: keeps records; `fail` makes the next publishes raise."""

    records: list[Record] = field(default_factory=list)
    fail: int = 0

    def publish(self, records: Sequence[Record]) -> None:
        if self.fail:
            self.fail -= 1
            raise PublishFailed("scripted failure")
        self.records.extend(records)

    def close(self) -> None:
        return None
