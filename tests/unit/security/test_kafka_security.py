"""Kafka SASL/TLS settings: validated together, hidden, and reaching every client's config."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from connectors.gateway.kafka_feed import consumer_config as gateway_consumer_config
from connectors.sources.ingest_web import ingest_producer
from infra.kafka_config import (
    KafkaEndpoint,
    KafkaSecurity,
    admin_config,
    client_config,
    group_consumer_config,
    producer_config,
    reader_config,
)
from infra.kafka_producer import KafkaProducer, make_producer
from infra.settings import Settings
from infra.settings_base import ConfigError
from infra.settings_connectors import WorkerSettings
from infra.settings_streams import StreamSettings, ToolSettings
from streams.kafka_credentials import aiokafka_auth, broker_credentials
from tests.redis_tls import make_certificates

PASSWORD = "kafka-pw-9c1e7"  # must never show up in a repr, an error or a log line
KEY_PASSWORD = "key-pw-51aa"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(ca.pem, client.pem, client.key): real PEM files, so the TLS context loads them."""
    return make_certificates(tmp_path_factory.mktemp("kafka-pki"))


def sasl_ssl_env(pki: tuple[Path, Path, Path], **extra: str) -> dict[str, str]:
    ca, _, _ = pki
    return {
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": "broker-1:9093,broker-2:9093",
        "C360_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "C360_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "C360_KAFKA_SASL_USERNAME": "c360-projector",
        "C360_KAFKA_SASL_PASSWORD": PASSWORD,
        "C360_KAFKA_SSL_CA_FILE": str(ca),
        **extra,
    }


EXPECTED = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanisms": "SCRAM-SHA-512",
    "sasl.username": "c360-projector",
    "sasl.password": PASSWORD,
}


def assert_secure(config: dict[str, Any], ca: Path) -> None:
    for key, value in EXPECTED.items():
        assert config[key] == value, key
    assert config["ssl.ca.location"] == str(ca)
    assert config["bootstrap.servers"] == "broker-1:9093,broker-2:9093"


# --- settings -------------------------------------------------------------------------------


def test_plaintext_is_the_default_and_sends_nothing_else() -> None:
    settings = ToolSettings.from_env({})
    assert settings.kafka_security() == KafkaSecurity()
    assert KafkaEndpoint.from_settings(settings).security == (("security.protocol", "PLAINTEXT"),)


def test_every_process_section_reads_the_same_variables(pki: tuple[Path, Path, Path]) -> None:
    env = sasl_ssl_env(pki, C360_PII_PEPPER="p" * 32)
    for section in (StreamSettings, ToolSettings, WorkerSettings):
        security = section.from_env(env).kafka_security()
        assert (security.protocol, security.mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
        assert security.password == PASSWORD


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"C360_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "C360_KAFKA_SASL_MECHANISM is required"),
        (
            {
                "C360_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "C360_KAFKA_SASL_MECHANISM": "PLAIN",
                "C360_KAFKA_SASL_USERNAME": "u",
            },
            "C360_KAFKA_SASL_PASSWORD is required",
        ),
        ({"C360_KAFKA_SASL_PASSWORD": PASSWORD}, "C360_KAFKA_SASL_PASSWORD is set but"),
        ({"C360_KAFKA_SECURITY_PROTOCOL": "TLS"}, "C360_KAFKA_SECURITY_PROTOCOL"),
        (
            {"C360_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "C360_KAFKA_SASL_MECHANISM": "GSSAPI"},
            "C360_KAFKA_SASL_MECHANISM",
        ),
        (
            {"C360_KAFKA_SECURITY_PROTOCOL": "SSL", "C360_KAFKA_SSL_CA_FILE": "/nonexistent.pem"},
            "C360_KAFKA_SSL_CA_FILE names no readable file",
        ),
        ({"C360_KAFKA_SSL_CA_FILE": __file__}, "does not use TLS"),
    ],
)
def test_inconsistent_settings_are_refused_by_name_never_quoting_the_secret(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        ToolSettings.from_env(env)
    assert PASSWORD not in str(caught.value)


def test_a_client_certificate_needs_its_key(pki: tuple[Path, Path, Path]) -> None:
    _, cert, _ = pki
    env = {"C360_KAFKA_SECURITY_PROTOCOL": "SSL", "C360_KAFKA_SSL_CERT_FILE": str(cert)}
    with pytest.raises(ConfigError, match="go together"):
        ToolSettings.from_env(env)


def test_secrets_are_absent_from_every_repr(pki: tuple[Path, Path, Path]) -> None:
    env = sasl_ssl_env(pki, C360_PII_PEPPER="p" * 32)
    settings = StreamSettings.from_env(env)
    endpoint = KafkaEndpoint.from_settings(settings)
    credentials = broker_credentials(settings)
    whole = Settings.from_env(env)
    for shown in (
        repr(settings),
        str(settings),
        repr(settings.kafka_security()),
        repr(endpoint),
        repr(credentials),
        repr(whole),
        settings.model_dump_json(),
    ):
        assert PASSWORD not in shown


# --- confluent-kafka clients ------------------------------------------------------------------


def test_sasl_ssl_scram_reaches_every_confluent_kafka_config(pki: tuple[Path, Path, Path]) -> None:
    """Each builder of infra.kafka_config, and each process's client, carries the settings."""
    ca, _, _ = pki
    env = sasl_ssl_env(pki, C360_PII_PEPPER="p" * 32)
    streams = StreamSettings.from_env(env)
    kafka = KafkaEndpoint.from_settings(streams)
    configs = {
        "client": client_config(kafka, "c"),
        "admin": admin_config(kafka, "c"),
        "producer": producer_config(kafka, "c"),
        "group consumer": group_consumer_config(kafka, "c", "g", fetch_wait_max_ms=5),
        "reader": reader_config(kafka, "c", fetch_wait_max_ms=5),
        "gateway feed": gateway_consumer_config(kafka, "c360-gateway-feed"),
        "ingest producer": ingest_producer(streams, 5.0, 1 << 20).config,
        "crm worker": group_consumer_config(
            KafkaEndpoint.from_settings(WorkerSettings.from_env(env)),
            "w",
            "g",
            fetch_wait_max_ms=5,
        ),
        "tools' producer": make_producer(
            KafkaEndpoint.from_settings(ToolSettings.from_env(env))
        ).config,
    }
    for name, config in configs.items():
        try:
            assert_secure(config, ca)
        except AssertionError as exc:  # pragma: no cover - names the client that lost them
            raise AssertionError(f"{name}: {exc}") from None


def test_the_web_process_clients_carry_the_settings(pki: tuple[Path, Path, Path]) -> None:
    """The gateway's feed, re-reads and action producer, and the ingest producer (web)."""
    from web.bootstrap import build_gateway, build_ingest  # noqa: PLC0415

    ca, _, _ = pki
    env = sasl_ssl_env(pki, C360_PII_PEPPER="p" * 32, C360_GATEWAY_DEV_LOGIN="true")
    settings = StreamSettings.from_env(env)
    gateway = build_gateway(settings, env, decode=lambda data: data)
    assert isinstance(gateway.publisher, KafkaProducer)
    assert_secure(gateway.publisher.config, ca)
    for reader in (gateway.feed, gateway.pop_log):
        assert_secure(gateway_consumer_config(reader._kafka, "x"), ca)  # type: ignore[attr-defined]
    ingest, _close = build_ingest(settings, env)
    assert_secure(ingest._publisher.config, ca)  # type: ignore[attr-defined]


def test_a_tools_bootstrap_flag_overrides_the_servers_only(
    pki: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`c360 publish|demo|dlq|replay|keys|topics --bootstrap x` keep C360_KAFKA_SASL_*/SSL_*."""
    import c360.cli as cli  # noqa: PLC0415
    import c360.demo as demo  # noqa: PLC0415
    import c360.dlq as dlq  # noqa: PLC0415
    import c360.kafka_admin as kafka_admin  # noqa: PLC0415
    import c360.reach as reach  # noqa: PLC0415
    import c360.replay as replay  # noqa: PLC0415

    for name, value in sasl_ssl_env(pki).items():
        monkeypatch.setenv(name, value)
    # No broker here: the fail-fast reachability check is not what this test is about.
    monkeypatch.setattr(reach, "require_kafka", lambda *_a, **_k: None)
    monkeypatch.setattr(reach, "require_redis", lambda *_a, **_k: None)
    seen: list[KafkaEndpoint] = []
    monkeypatch.setattr(demo, "make_producer", seen.append)
    monkeypatch.setattr(demo, "produce_all", lambda *_a: 0)
    demo.main(["history", "--bootstrap", "other:1"])
    monkeypatch.setattr(
        dlq, "read_dead_letters", lambda brokers, _topic: seen.append(brokers) or []
    )
    dlq.main(["list", "--bootstrap", "other:1"])
    monkeypatch.setattr(
        replay, "replay_parallel", lambda brokers, *_a, **_k: seen.append(brokers) or {"records": 0}
    )
    replay.main(["--namespace", "rebuild", "--bootstrap", "other:1"])
    monkeypatch.setattr(kafka_admin, "list_topics", lambda brokers: seen.append(brokers) or {})
    cli.main(["topics", "list", "--bootstrap", "other:1"])
    assert len(seen) == 4
    for endpoint in seen:
        assert endpoint.bootstrap == "other:1"
        assert dict(endpoint.security)["sasl.password"] == PASSWORD


def test_keys_and_publish_take_the_security_settings_too(
    pki: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import argparse  # noqa: PLC0415

    import c360.keys as keys  # noqa: PLC0415
    import c360.publish as publish  # noqa: PLC0415
    from core.api_keys import ApiKey  # noqa: PLC0415

    for name, value in sasl_ssl_env(pki).items():
        monkeypatch.setenv(name, value)
    seen: list[KafkaEndpoint] = []
    import infra.audit_kafka as audit_kafka  # noqa: PLC0415

    class Quiet:
        def publish_blocking(self, messages: object) -> int:
            return 1

    def producer(brokers: KafkaEndpoint, *_a: object, **_k: object) -> Quiet:
        seen.append(brokers)
        return Quiet()

    monkeypatch.setattr(audit_kafka, "make_producer", producer)
    record = ApiKey("0123456789abcdef", "acme", frozenset({"admin"}), "ops", 0, 1, "h" * 64)
    keys._audit(argparse.Namespace(bootstrap="other:1", topic_prefix=""), record, "key_created")
    monkeypatch.setattr(publish, "make_producer", seen.append)
    monkeypatch.setattr(publish.reach, "require_kafka", lambda *_a: None)  # no broker here
    monkeypatch.setattr(publish, "produce_all", lambda *_a: 0)
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    publish.main([str(empty), "--bootstrap", "other:1"])
    assert [e.bootstrap for e in seen] == ["other:1", "other:1"]
    assert all(dict(e.security)["sasl.mechanisms"] == "SCRAM-SHA-512" for e in seen)


def test_the_dev_stack_keeps_its_own_tansu_plaintext(pki: tuple[Path, Path, Path]) -> None:
    """The user's SASL settings are for an external broker: the stack's own Tansu's
    children must not inherit them; with --kafka-bootstrap they pass through."""
    from c360.devspecs import StackContext, stack_env  # noqa: PLC0415

    user = sasl_ssl_env(pki)
    own = StackContext("127.0.0.1:1", "redis://x", 1, Path("."), Path("."), own_broker=True)
    external = StackContext("b:9093", "redis://x", 1, Path("."), Path("."))
    assert not [
        n
        for n in stack_env(own, user)
        if n.startswith(("C360_KAFKA_SASL", "C360_KAFKA_SSL", "C360_KAFKA_SECURITY"))
    ]
    assert stack_env(external, user)["C360_KAFKA_SASL_PASSWORD"] == PASSWORD


# --- Faust / aiokafka -------------------------------------------------------------------------


def test_faust_gets_sasl_credentials_with_a_tls_context(pki: tuple[Path, Path, Path]) -> None:
    settings = ToolSettings.from_env(sasl_ssl_env(pki))
    credentials = broker_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("c360-projector", PASSWORD)
    context = credentials.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "c360 test CA"),),)]
    auth = aiokafka_auth(settings)
    assert auth["security_protocol"] == "SASL_SSL"
    assert (auth["sasl_mechanism"], auth["sasl_plain_password"]) == ("SCRAM-SHA-512", PASSWORD)


def test_faust_credentials_for_the_other_protocols(pki: tuple[Path, Path, Path]) -> None:
    ca, cert, key = pki
    assert broker_credentials(ToolSettings.from_env({})) is None
    plain = broker_credentials(
        ToolSettings.from_env(
            {
                "C360_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "C360_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
                "C360_KAFKA_SASL_USERNAME": "u",
                "C360_KAFKA_SASL_PASSWORD": PASSWORD,
            }
        )
    )
    assert isinstance(plain, faust.SASLCredentials) and plain.ssl_context is None
    assert (plain.protocol.value, plain.mechanism.value) == ("SASL_PLAINTEXT", "SCRAM-SHA-256")
    mtls = ToolSettings.from_env(
        {
            "C360_KAFKA_SECURITY_PROTOCOL": "SSL",
            "C360_KAFKA_SSL_CA_FILE": str(ca),
            "C360_KAFKA_SSL_CERT_FILE": str(cert),
            "C360_KAFKA_SSL_KEY_FILE": str(key),
        }
    )
    tls = broker_credentials(mtls)
    assert isinstance(tls, faust.SSLCredentials)
    assert credentials_to_aiokafka_auth(tls)["security_protocol"] == "SSL"
    assert dict(KafkaEndpoint.from_settings(mtls).security) == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(ca),
        "ssl.certificate.location": str(cert),
        "ssl.key.location": str(key),
    }


def test_the_faust_app_hands_the_credentials_to_its_producer_and_consumer(
    pki: tuple[Path, Path, Path],
) -> None:
    """What streams/app.py does: faust.App(broker_credentials=...); the aiokafka producer's
    and consumer's auth settings are Faust's mapping of them."""
    from streams.transport import SCHEME, register  # noqa: PLC0415

    register()
    settings = ToolSettings.from_env(sasl_ssl_env(pki))
    app = faust.App(
        "c360-security-test",
        broker=f"{SCHEME}://broker-1:9093",
        broker_credentials=broker_credentials(settings),
        autodiscover=False,
    )
    producer_auth = app.producer._settings_auth()
    consumer_auth = credentials_to_aiokafka_auth(app.conf.broker_credentials, app.conf.ssl_context)
    for auth in (producer_auth, consumer_auth):
        assert auth["security_protocol"] == "SASL_SSL"
        assert auth["sasl_plain_password"] == PASSWORD
        assert auth["ssl_context"] is not None


# --- logs -------------------------------------------------------------------------------------


async def test_a_failing_secure_client_never_logs_the_password(
    pki: tuple[Path, Path, Path],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """librdkafka's own log lines (stderr), c360's structured ones and the error raised."""
    import socket  # noqa: PLC0415

    from infra.kafka_producer import Message, PublishFailed  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = sasl_ssl_env(
        pki,
        C360_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        C360_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        C360_KAFKA_SSL_CA_FILE="",
    )
    producer = KafkaProducer(
        KafkaEndpoint.from_settings(ToolSettings.from_env(env)), "t", delivery_timeout_s=0.5
    )
    with pytest.raises(PublishFailed) as caught:
        await producer.publish([Message("t", None, b"x")])
    await producer.close()
    out, err = capfd.readouterr()
    for text in (out, err, caplog.text, str(caught.value), repr(producer)):
        assert PASSWORD not in text
