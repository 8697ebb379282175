"""Session infrastructure for tests: a real redis-server and a real Tansu broker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from c360.kafka_admin import admin, create_topics, wait_broker
from c360.localstack import (
    DEFAULT_REDIS_URL,
    InfraError,
    redis_answers,
    start_redis,
    start_tansu,
    tansu_bootstrap,
)
from schemas.topics import topic_names
from tests.kafka_helpers import Predicate, Received, consume_until, make_producer

ConsumeUntil = Callable[..., list[Received]]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: C360_REDIS_URL (or :6379) when it answers, else a private redis-server."""
    url = os.environ.get("C360_REDIS_URL", DEFAULT_REDIS_URL)
    if redis_answers(url):
        yield url
        return
    base = tmp_path_factory.mktemp("redis")
    try:
        child, own_url = start_redis(base, base / "redis.log")
    except InfraError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield own_url
    finally:
        child.stop(5)


@pytest.fixture
def redis_namespace(redis_url: str) -> Iterator[str]:
    """A unique key namespace per test (e.g. 'c360t1a2b3c4d'); its keys are deleted after."""
    import redis  # noqa: PLC0415

    namespace = f"c360t{uuid.uuid4().hex[:8]}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    try:
        batch = list(client.scan_iter(match=f"{namespace}*", count=500))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])
    finally:
        client.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """'127.0.0.1:PORT' of a Tansu broker for the session, or $C360_TEST_KAFKA_BOOTSTRAP."""
    external = os.environ.get("C360_TEST_KAFKA_BOOTSTRAP")
    if external:
        wait_broker(external, 30)
        yield external
        return
    log = Path(tmp_path_factory.mktemp("tansu")) / "tansu.log"
    try:
        child = start_tansu(log)
    except (InfraError, TimeoutError, RuntimeError) as exc:
        pytest.fail(f"could not start Tansu: {exc}", pytrace=False)
    try:
        yield tansu_bootstrap(child)
    finally:
        child.stop(5)


@pytest.fixture
def topic_prefix(kafka_bootstrap: str) -> Iterator[str]:
    """A unique topic prefix ('t1a2b3c4d.'); every catalogue topic exists with it."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    create_topics(kafka_bootstrap, prefix)
    yield prefix
    if os.environ.get("C360_TEST_KAFKA_BOOTSTRAP"):
        # A shared real broker keeps topics; Tansu's memory store goes with the session.
        admin(kafka_bootstrap).delete_topics(list(topic_names(prefix)), operation_timeout=10)


@pytest.fixture(scope="session")
def kafka_producer(kafka_bootstrap: str) -> Iterator[Producer]:
    """A confluent-kafka Producer (acks=all) to the session broker."""
    producer = make_producer(kafka_bootstrap)
    yield producer
    producer.flush(10)


@pytest.fixture(name="consume_until", scope="session")
def consume_until_bound(kafka_bootstrap: str) -> ConsumeUntil:
    """consume_until(topic, predicate=non-empty, timeout=30) -> list[Received], from offset 0."""

    def bound(
        topic: str,
        predicate: Predicate = bool,
        timeout: float = 30.0,
    ) -> list[Received]:
        return consume_until(kafka_bootstrap, topic, predicate, timeout)

    return bound
