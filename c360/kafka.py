"""confluent-kafka producer helpers for the CLI tools (publish, demo, import)."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaException, Producer


class DeliveryFailed(RuntimeError):
    """The broker did not acknowledge every record."""


def make_producer(bootstrap: str, client_id: str = "c360-cli") -> Producer:
    """An idempotent producer (acks=all): retries never duplicate records."""
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # Tansu and brokers on loopback: never let librdkafka try ::1 first (FACTS T9).
            "broker.address.family": "v4",
        }
    )


def produce_all(
    producer: Producer, topic: str, records: Iterable[tuple[bytes | None, bytes]]
) -> int:
    """Produce (key, value) pairs and wait until the broker acked all; returns the count."""
    errors: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    count = 0
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.5)  # local queue full: let deliveries drain
        count += 1
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or errors:
        msg = f"{remaining} undelivered, {len(errors)} failed: {errors[:3]}"
        raise DeliveryFailed(msg)
    return count


__all__ = ["DeliveryFailed", "KafkaException", "make_producer", "produce_all"]
