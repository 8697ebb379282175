"""Kafka admin for the CLI and the dev stack: wait for a broker, create and list topics."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from c360.procs import port_open
from infra.kafka_config import Brokers, admin_config, endpoint_of
from schemas.topics import CATALOGUE, TopicSpec


def admin(brokers: Brokers) -> AdminClient:
    """An AdminClient with the endpoint's security settings (IPv4 only, FACTS T9)."""
    return AdminClient(admin_config(endpoint_of(brokers), "c360-admin"))


def broker_ready(brokers: Brokers, timeout: float = 2.0) -> bool:
    """True when a metadata request answers with at least one broker."""
    bootstrap = endpoint_of(brokers).bootstrap
    host, _, port = bootstrap.split(",", 1)[0].strip().rpartition(":")
    if port.isdigit() and not port_open(host.strip("[]") or "127.0.0.1", int(port), timeout):
        # No listener yet: skip librdkafka, which would print a connect error per attempt.
        return False
    try:
        meta = admin(brokers).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(meta.brokers)


def wait_broker(brokers: Brokers, timeout: float = 30.0) -> None:
    """Block until the broker answers metadata requests; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while not broker_ready(brokers):
        if time.monotonic() >= deadline:
            where = endpoint_of(brokers).bootstrap
            msg = f"Kafka broker at {where} did not answer metadata within {timeout:.0f}s"
            raise TimeoutError(msg)
        time.sleep(0.2)


def list_topics(brokers: Brokers, timeout: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count, internal topics included."""
    meta = admin(brokers).list_topics(timeout=timeout)
    return {name: len(topic.partitions) for name, topic in meta.topics.items()}


def create_topics(
    brokers: Brokers,
    prefix: str = "",
    specs: Iterable[TopicSpec] = CATALOGUE,
    replication: int = 1,
    timeout: float = 30.0,
) -> tuple[list[str], list[str]]:
    """Create every topic explicitly (Tansu 0.6 never auto-creates, FACTS T10).

    Idempotent: topics that already exist count as fine. Returns (created, existing).
    Compacted topics ask for cleanup.policy=compact; Tansu ignores it (FACTS T4), real
    Kafka honours it.
    """
    client = admin(brokers)
    new = [
        NewTopic(
            prefix + spec.name,
            num_partitions=spec.partitions,
            replication_factor=replication,
            config={"cleanup.policy": "compact"} if spec.compacted else {},
        )
        for spec in specs
    ]
    if not new:
        return [], []
    futures = client.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
    created: list[str] = []
    existing: list[str] = []
    for name, future in futures.items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                existing.append(name)
                continue
            raise
        created.append(name)
    return created, existing
