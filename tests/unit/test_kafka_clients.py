"""The one place Kafka clients are configured, the one producer wrapper, and its twin."""

from __future__ import annotations

import socket
import time

import pytest

from connectors.crm.kafka_consumer import FETCH_WAIT_MAX_MS as CRM_FETCH_WAIT_MS
from connectors.gateway.kafka_feed import consumer_config as gateway_config
from infra.kafka_config import (
    KafkaEndpoint,
    KafkaSecurity,
    client_config,
    group_consumer_config,
    producer_config,
    reader_config,
)
from infra.kafka_producer import (
    InMemoryPublisher,
    KafkaProducer,
    Message,
    PublishFailed,
    make_producer,
    produce_all,
)

KAFKA = KafkaEndpoint("127.0.0.1:1")
SECURE = KafkaEndpoint(
    "broker:9093", security=(("security.protocol", "SASL_SSL"), ("sasl.password", "s3cret"))
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_kafka_clients_are_configured_for_commit_after_success_and_idempotence() -> None:
    """No auto commit / offset store on the consumer; an idempotent acks=all producer."""
    consumer = group_consumer_config(KAFKA, "c", "g", fetch_wait_max_ms=CRM_FETCH_WAIT_MS)
    assert consumer["enable.auto.commit"] is False
    assert consumer["enable.auto.offset.store"] is False
    assert "group.protocol" not in consumer  # classic protocol (Tansu, FACTS T7)
    assert (consumer["group.id"], consumer["client.id"]) == ("g", "c")
    assert consumer["isolation.level"] == "read_committed"
    producer = producer_config(KAFKA, "c")
    assert (producer["enable.idempotence"], producer["acks"]) == (True, "all")
    assert producer["message.timeout.ms"] == 30_000


def test_readers_join_nothing_and_commit_nothing() -> None:
    """Assigned-partition readers get a fresh group id each and never commit."""
    a, b = (reader_config(KAFKA, "c360-dlq", fetch_wait_max_ms=100) for _ in range(2))
    assert a["group.id"] != b["group.id"] and a["group.id"].startswith("c360-dlq-")
    assert a["enable.auto.commit"] is False and "enable.partition.eof" not in a
    gateway = gateway_config(KAFKA, "c360-gateway-feed")
    assert (gateway["auto.offset.reset"], gateway["fetch.wait.max.ms"]) == ("latest", 5)


def test_every_client_gets_the_endpoint_and_its_security_settings() -> None:
    """The security hook reaches producers and both kinds of consumer; IPv4 (FACTS T9)."""
    for config in (
        client_config(SECURE, "c"),
        producer_config(SECURE, "c"),
        group_consumer_config(SECURE, "c", "g", fetch_wait_max_ms=50),
        reader_config(SECURE, "c", fetch_wait_max_ms=5),
    ):
        assert config["bootstrap.servers"] == "broker:9093"
        assert config["security.protocol"] == "SASL_SSL"
        assert config["broker.address.family"] == "v4"
    assert "s3cret" not in repr(SECURE)


def test_the_endpoint_comes_from_any_settings_with_servers_and_security() -> None:
    class Settings:
        kafka_bootstrap_servers = "k1:9092,k2:9092"

        def kafka_security(self) -> KafkaSecurity:
            return KafkaSecurity()

    plain = (("security.protocol", "PLAINTEXT"),)
    assert KafkaEndpoint.from_settings(Settings()) == KafkaEndpoint("k1:9092,k2:9092", plain)
    assert KafkaEndpoint.from_settings(Settings(), "k3:1") == KafkaEndpoint("k3:1", plain)


async def test_the_twin_records_and_fails_as_scripted() -> None:
    """`fail_next` fails that many publishes; `fail` fails every one."""
    twin = InMemoryPublisher(fail_next=1)
    with pytest.raises(PublishFailed):
        await twin.publish([Message("t", None, b"1")])
    await twin.publish([Message("t", b"k", b"2")])
    assert produce_all(twin, "u", [(None, b"3")]) == 1  # type: ignore[arg-type]
    assert [(m.topic, m.value) for m in twin.messages] == [("t", b"2"), ("u", b"3")]
    twin.fail = PublishFailed("down")
    with pytest.raises(PublishFailed, match="down"):
        await twin.publish([Message("t", None, b"4")])


async def test_an_unreachable_broker_fails_the_publish_within_the_delivery_time() -> None:
    """Awaitable delivery: PublishFailed (transient) once message.timeout.ms is up."""
    producer = KafkaProducer(
        KafkaEndpoint(f"127.0.0.1:{_closed_port()}"), "t", delivery_timeout_s=0.5
    )
    began = time.monotonic()
    try:
        with pytest.raises(PublishFailed) as failed:
            await producer.publish([Message("t", b"k", b"v")])
        assert not failed.value.too_large
        assert time.monotonic() - began < 5
    finally:
        await producer.close()


def test_the_blocking_path_fails_the_same_way_and_too_large_is_said() -> None:
    """CLI tools: produce + flush raises PublishFailed; a record over the client's limit
    is refused as too_large before it is sent."""
    producer = KafkaProducer(
        KafkaEndpoint(f"127.0.0.1:{_closed_port()}"), "t", delivery_timeout_s=0.5
    )
    with pytest.raises(PublishFailed) as failed:
        produce_all(producer, "t", [(b"k", b"v")])
    assert not failed.value.too_large
    small = make_producer(f"127.0.0.1:{_closed_port()}")
    small.config["message.max.bytes"] = 1000
    with pytest.raises(PublishFailed) as big:
        produce_all(small, "t", [(None, b"x" * 5000)])
    assert big.value.too_large
    producer.close_blocking()
    small.close_blocking()
