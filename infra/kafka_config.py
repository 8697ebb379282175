"""Every librdkafka config c360 builds: one endpoint, the producer's and the consumers'."""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from infra.logs import librdkafka_logger

# Pure: no confluent_kafka import, so any layer may build a config (the client itself is
# only constructed in infra, connectors and the tools).

Isolation = Literal["read_committed", "read_uncommitted"]
OffsetReset = Literal["earliest", "latest", "error"]
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]


@dataclass(frozen=True, slots=True)
class KafkaSecurity:
    """How a client authenticates to the brokers and checks them (C360_KAFKA_SECURITY_*,
    C360_KAFKA_SASL_*, C360_KAFKA_SSL_*; validated in infra.settings_kafka). Secrets are
    plain strings here, for the client libraries only: never in repr."""

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: Mechanism | None = None
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    key_password: str = field(default="", repr=False)

    @property
    def sasl(self) -> bool:
        """Whether the client authenticates with a SASL mechanism."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connection is TLS."""
        return self.protocol in ("SSL", "SASL_SSL")

    def librdkafka(self) -> tuple[tuple[str, str], ...]:
        """The librdkafka settings (confluent-kafka), only those that apply."""
        pairs: list[tuple[str, str]] = [("security.protocol", self.protocol)]
        if self.sasl and self.mechanism:
            pairs += [
                ("sasl.mechanisms", self.mechanism),
                ("sasl.username", self.username),
                ("sasl.password", self.password),
            ]
        if self.tls:
            optional = [
                ("ssl.ca.location", self.ca_file),
                ("ssl.certificate.location", self.cert_file),
                ("ssl.key.location", self.key_file),
                ("ssl.key.password", self.key_password),
            ]
            pairs += [(key, value) for key, value in optional if value]
        return tuple(pairs)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of Python clients (aiokafka under Faust): the CA file (else the
        system's trust store), the client certificate when one is given; None without TLS."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(
                self.cert_file, self.key_file or None, self.key_password or None
            )
        return context


class KafkaSettings(Protocol):
    """What a settings object must expose to reach the brokers."""

    @property
    def kafka_bootstrap_servers(self) -> str:
        """host:port[,host:port...]."""
        ...

    def kafka_security(self) -> KafkaSecurity:
        """How to authenticate to them and check them."""
        ...


@dataclass(frozen=True, slots=True)
class KafkaEndpoint:
    """Where the brokers are and how to reach them. `security` holds the librdkafka
    security settings (security.protocol, sasl.*, ssl.*) merged into every client's
    config, from `from_settings`; nothing here ever logs it."""

    bootstrap: str
    security: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_settings(cls, settings: KafkaSettings, bootstrap: str | None = None) -> KafkaEndpoint:
        """The endpoint of a settings object (every process's and tool's): its servers, or
        `bootstrap` (a tool's --bootstrap overrides the servers only), and its security."""
        servers = bootstrap or str(settings.kafka_bootstrap_servers)
        return cls(servers, settings.kafka_security().librdkafka())

    def __repr__(self) -> str:
        # Never print secrets (sasl.password) in a traceback or a log line.
        return f"KafkaEndpoint({self.bootstrap!r}, security={len(self.security)} setting(s))"


# What the tools' functions accept: an endpoint, or a bare "host:port" string meaning a
# PLAINTEXT endpoint (tests and the dev stack's own Tansu). Production entry points build
# the endpoint from settings (tests/unit/security/test_kafka_security.py checks the tools do).
Brokers = KafkaEndpoint | str


def endpoint_of(brokers: Brokers) -> KafkaEndpoint:
    """An endpoint from `Brokers`."""
    return brokers if isinstance(brokers, KafkaEndpoint) else KafkaEndpoint(brokers)


def admin_config(endpoint: KafkaEndpoint, client_id: str) -> dict[str, Any]:
    """An AdminClient's config (topics, metadata)."""
    return client_config(endpoint, client_id)


def client_config(endpoint: KafkaEndpoint, client_id: str) -> dict[str, Any]:
    """What every client shares: brokers, its name, IPv4 (Tansu and loopback brokers:
    librdkafka may try ::1 first, FACTS T9), its log lines as rate-limited records of the
    process's one log pipeline (infra/logs.py) instead of raw stderr, then the security
    settings."""
    return {
        "bootstrap.servers": endpoint.bootstrap,
        "client.id": client_id,
        "broker.address.family": "v4",
        "logger": librdkafka_logger(),
        # A broker closing an idle connection is routine, not a line in the log.
        "log.connection.close": False,
        **dict(endpoint.security),
    }


def producer_config(
    endpoint: KafkaEndpoint,
    client_id: str,
    *,
    delivery_timeout_s: float = 30.0,
    linger_ms: int = 2,
    max_message_bytes: int | None = None,
) -> dict[str, Any]:
    """Idempotent (a retried send never duplicates a record, FACTS R3: librdkafka's default
    is off), acks from all in-sync replicas, and a bounded delivery time so a dead broker
    surfaces as an error instead of a hang. `max_message_bytes` raises librdkafka's 1 MB
    client-side limit (the broker's own limit still applies)."""
    config = {
        **client_config(endpoint, client_id),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": linger_ms,
        "message.timeout.ms": max(1, int(delivery_timeout_s * 1000)),
    }
    if max_message_bytes is not None:
        config["message.max.bytes"] = max_message_bytes
    return config


def _consumer_config(
    endpoint: KafkaEndpoint,
    client_id: str,
    group_id: str,
    offset_reset: OffsetReset,
    fetch_wait_max_ms: int,
    isolation: Isolation,
) -> dict[str, Any]:
    return {
        **client_config(endpoint, client_id),
        "group.id": group_id,
        # Offsets are committed by hand after the side effect, or never: librdkafka's auto
        # commit would commit before it (FACTS (c)).
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": offset_reset,
        # librdkafka's default, said out loud: aborted transactional records stay unseen.
        "isolation.level": isolation,
        # librdkafka's 500 ms default is paid per fetch on brokers that hold a fetch until
        # its max wait even when records are there (Tansu, FACTS M1); each consumer says
        # how much latency it can afford.
        "fetch.wait.max.ms": fetch_wait_max_ms,
    }


def group_consumer_config(
    endpoint: KafkaEndpoint,
    client_id: str,
    group_id: str,
    *,
    fetch_wait_max_ms: int,
    max_poll_interval_ms: int = 300_000,
    session_timeout_ms: int = 45_000,
    offset_reset: OffsetReset = "earliest",
    isolation: Isolation = "read_committed",
) -> dict[str, Any]:
    """A member of a consumer group that commits each offset itself after its side
    effect. Classic group protocol (no `group.protocol`: Tansu has no KIP-848, FACTS T7)."""
    return {
        **_consumer_config(
            endpoint, client_id, group_id, offset_reset, fetch_wait_max_ms, isolation
        ),
        "max.poll.interval.ms": max_poll_interval_ms,
        "session.timeout.ms": session_timeout_ms,
    }


def reader_config(
    endpoint: KafkaEndpoint,
    client_id: str,
    *,
    fetch_wait_max_ms: int,
    offset_reset: OffsetReset = "earliest",
    partition_eof: bool = False,
    partition_fetch_bytes: int | None = None,
    fetch_bytes: int | None = None,
    isolation: Isolation = "read_committed",
) -> dict[str, Any]:
    """A consumer of assigned partitions that never joins a group nor commits (replay,
    the DLQ tool, the gateway's feed). librdkafka still wants a group id: a fresh one,
    named after the client, joins nothing."""
    group_id = f"{client_id}-{uuid.uuid4().hex[:12]}"
    config = _consumer_config(
        endpoint, client_id, group_id, offset_reset, fetch_wait_max_ms, isolation
    )
    if partition_eof:
        config["enable.partition.eof"] = True
    if partition_fetch_bytes is not None:
        config["max.partition.fetch.bytes"] = partition_fetch_bytes
    if fetch_bytes is not None:
        config["fetch.max.bytes"] = fetch_bytes
    return config
