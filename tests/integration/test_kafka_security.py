"""Kafka security settings against the dev broker (Tansu, PLAINTEXT): the default still works;
a client configured for TLS or SASL fails within its bound, saying why, never hanging.

A SASL/TLS success path cannot be shown here: this Tansu build (0.6.0-510f3e2, memory
storage) refuses `--cert` together with `--key`, and with `--authentication` it refuses the
unauthenticated `tansu user create` that would add the first SCRAM user (docs/operations.md,
"Kafka security")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from c360.kafka_admin import list_topics
from infra.kafka_config import KafkaEndpoint, KafkaSecurity
from infra.kafka_producer import KafkaProducer, Message, PublishFailed
from infra.settings_streams import ToolSettings
from schemas.topics import INTERACTIONS
from tests.redis_tls import make_certificates

pytestmark = pytest.mark.integration
PASSWORD = "kafka-pw-int-3e8b"


def test_plaintext_settings_from_the_environment_reach_tansu(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = ToolSettings.from_env({"C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})
    kafka = KafkaEndpoint.from_settings(settings)
    assert dict(kafka.security) == {"security.protocol": "PLAINTEXT"}
    assert topic_prefix + INTERACTIONS in list_topics(kafka)
    producer = KafkaProducer(kafka, "c360-security-test", delivery_timeout_s=10)
    try:
        assert producer.publish_blocking([Message(topic_prefix + INTERACTIONS, b"k", b"v")]) == 1
    finally:
        producer.close_blocking()


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT"])
def test_a_secure_client_against_a_plaintext_broker_fails_within_its_bound(
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    protocol: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Metadata (the tools) and a publish (every producer) give up within their timeouts;
    the SASL case names the handshake in PublishFailed; the password is never printed."""
    ca, _, _ = make_certificates(tmp_path)
    security = (
        KafkaSecurity("SSL", ca_file=str(ca))
        if protocol == "SSL"
        else KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", "c360", PASSWORD)
    )
    kafka = KafkaEndpoint(kafka_bootstrap, security.librdkafka())
    started = time.monotonic()
    with pytest.raises(KafkaException):
        list_topics(kafka, timeout=3)
    assert time.monotonic() - started < 10
    producer = KafkaProducer(kafka, "c360-security-test", delivery_timeout_s=2)
    started = time.monotonic()
    try:
        with pytest.raises(PublishFailed) as caught:
            producer.publish_blocking([Message(topic_prefix + INTERACTIONS, b"k", b"v")])
    finally:
        producer.close_blocking()
    assert time.monotonic() - started < 15
    if protocol == "SASL_PLAINTEXT":
        assert "SASL" in str(caught.value)
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err + str(caught.value)
