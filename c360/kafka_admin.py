"""Kafka admin for the CLI and the dev stack: wait for a broker, create and list topics."""

from __future__ import annotations

import time
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from c360.procs import port_open
from schemas.topics import CATALOGUE, TopicSpec


def admin(bootstrap: str) -> AdminClient:
    """An AdminClient that never tries IPv6 for loopback brokers (FACTS T9)."""
    return AdminClient({"bootstrap.servers": bootstrap, "broker.address.family": "v4"})


def broker_ready(bootstrap: str, timeout: float = 2.0) -> bool:
    """True when a metadata request answers with at least one broker."""
    host, _, port = bootstrap.split(",", 1)[0].strip().rpartition(":")
    if port.isdigit() and not port_open(host.strip("[]") or "127.0.0.1", int(port), timeout):
        # No listener yet: skip librdkafka, which would print a connect error per attempt.
        return False
    try:
        meta = admin(bootstrap).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(meta.brokers)


def wait_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the broker answers metadata requests; TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while not broker_ready(bootstrap):
        if time.monotonic() >= deadline:
            msg = f"Kafka broker at {bootstrap} did not answer metadata within {timeout:.0f}s"
            raise TimeoutError(msg)
        time.sleep(0.2)


def list_topics(bootstrap: str, timeout: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count, internal topics included."""
    meta = admin(bootstrap).list_topics(timeout=timeout)
    return {name: len(topic.partitions) for name, topic in meta.topics.items()}


def create_topics(
    bootstrap: str,
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
    client = admin(bootstrap)
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
