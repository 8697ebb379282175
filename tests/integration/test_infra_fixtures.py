"""The session fixtures give a real broker with prefixed topics and a real Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from confluent_kafka import Producer

from c360.kafka_admin import list_topics
from schemas.topics import CATALOGUE, INTERACTIONS
from tests.kafka_helpers import Received, produce_sync

pytestmark = pytest.mark.integration


def test_prefixed_topics_exist_with_catalogue_partitions(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Every catalogue topic exists under the test's prefix with its declared partitions."""
    topics = list_topics(kafka_bootstrap)
    for spec in CATALOGUE:
        assert topics.get(topic_prefix + spec.name) == spec.partitions


def test_produce_then_consume_round_trip(
    topic_prefix: str,
    kafka_producer: Producer,
    consume_until: Callable[..., list[Received]],
) -> None:
    """A record produced to a prefixed topic is read back with its key and value."""
    topic = topic_prefix + INTERACTIONS
    produce_sync(kafka_producer, topic, b"hello", key=b"ix-1")
    got = consume_until(topic, lambda msgs: any(m.value == b"hello" for m in msgs))
    assert [(m.key, m.value) for m in got] == [(b"ix-1", b"hello")]


def test_redis_answers_and_namespace_is_cleaned(redis_url: str, redis_namespace: str) -> None:
    """Redis answers PING; the namespace is unique to this test."""
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
        client.set(f"{redis_namespace}:probe", b"1")
        assert client.get(f"{redis_namespace}:probe") == b"1"
    finally:
        client.close()
