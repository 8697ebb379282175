"""The shared sections (Kafka, Redis, mode/logging, timeline) and the streams process's settings."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, NonNegativeInt, SecretStr, ValidationInfo, field_validator

from infra.settings_base import Section
from infra.settings_kafka import KafkaSecuritySection

# A fixed development pepper keeps `c360 dev up` zero-config; outside C360_ENV=dev a real
# secret is required, because tokens made with a published pepper are reversible.
DEV_PEPPER = "c360-dev-pepper-not-secret"


class KafkaSection(KafkaSecuritySection):
    """Where the broker is, how to reach it (infra.settings_kafka) and the deployment's topic
    prefix (C360_KAFKA_*, C360_TOPIC_PREFIX)."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""

    def topic(self, name: str) -> str:
        """A catalogue topic name with this deployment's prefix."""
        return self.topic_prefix + name


class ModeSection(Section):
    """C360_ENV (dev relaxes secrets and defaults) and the log output."""

    env: str = "prod"
    log_format: str = ""  # "" = console in dev, json elsewhere
    log_level: str = "INFO"

    @field_validator("log_format")
    @classmethod
    def _format_for_mode(cls, value: str, info: ValidationInfo) -> str:
        return value or ("console" if info.data.get("env") == "dev" else "json")

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class RedisSection(Section):
    """The read model's Redis and its key namespace."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_namespace: str = "c360"


class TimelineSection(Section):
    """What a timeline keeps and which events are plausible, shared by workers and tools."""

    default_tenant: str = "demo"
    timeline_max_entries: NonNegativeInt = 50
    timeline_retention_days: NonNegativeInt = 365
    # Events stamped further ahead of this worker's clock are refused as implausible
    # (schemas.validation; producers' clock skew is allowed for up to this).
    max_future_seconds: NonNegativeInt = 86_400
    profile_schema_file: str = ""


class ToolSettings(KafkaSection, RedisSection, TimelineSection):
    """The defaults of the `c360` tools' options (no secret needed: tools run anywhere)."""

    # How long a tool waits for the broker or Redis to answer before it gives up with a
    # one-line "cannot reach ..." (c360/reach.py) instead of librdkafka's minute of retries.
    connect_timeout_seconds: float = Field(default=5.0, gt=0)


class StreamSettings(KafkaSection, ModeSection, RedisSection, TimelineSection):
    """Everything the streams process needs; build with `from_env` (tests pass a dict)."""

    app_id: str = "c360"
    pepper: SecretStr = Field(
        default=SecretStr(""), validation_alias="C360_PII_PEPPER", repr=False, exclude=True
    )
    default_region: str = "US"
    tenant_regions: dict[str, str] = Field(default_factory=dict)
    activity_min_call_seconds: NonNegativeInt = 10
    max_payload_bytes: NonNegativeInt = 1_048_576
    redis_retry_deadline_seconds: NonNegativeInt = 300
    party_link_ttl_seconds: NonNegativeInt = 7 * 24 * 3600
    http_host: str = "127.0.0.1"
    http_port: NonNegativeInt = 8360
    topic_replication_factor: NonNegativeInt = 0  # 0 = 1 in dev, 3 elsewhere
    schema_registry_url: str = ""
    # Tenant configuration files ("" = built-in defaults); each is validated at start-up and
    # re-read when it changes where its loader says so (docs/operations.md).
    rules_file: str = ""
    topics_file: str = ""
    layout_file: str = ""
    # Latency knobs (docs/performance.md): the most events one pass takes, how long an idle
    # worker lingers for more before it starts one (0: at once), and how long a consumer
    # fetch may wait at the broker. Values under a knob's floor are raised to it.
    batch_max_events: NonNegativeInt = 500
    batch_within_ms: NonNegativeInt = 0
    consumer_fetch_max_wait_ms: NonNegativeInt = 5
    # Faust consumer group session: a dead worker's partitions move after this long.
    session_timeout_seconds: NonNegativeInt = 10
    # Static membership (KIP-345): a stable id per worker (e.g. the pod name) lets a worker
    # restarted within the session timeout take its partitions back without a rebalance.
    group_instance_id: str = ""
    # How often the worker checks that its positions are inside the log (streams/offset_guard.py).
    offset_check_seconds: NonNegativeInt = 30
    # Where the worker's Faust web server (/metrics, /c360/stats, /ready, /health: no
    # credentials) listens: loopback by default; "0.0.0.0" only on a private network (a
    # scraper or kubelet probes from outside the pod, docs/security.md).
    worker_web_bind: str = "127.0.0.1"

    @field_validator("pepper")
    @classmethod
    def _pepper_outside_dev(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if value.get_secret_value():
            return value
        if info.data.get("env") == "dev":
            return SecretStr(DEV_PEPPER)
        raise ValueError("is required outside C360_ENV=dev")

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if len(value) != 2:
            raise ValueError(f"must be a 2-letter region, got {value.upper()!r}")
        return value.upper()

    @field_validator("tenant_regions", mode="before")
    @classmethod
    def _regions(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        regions: dict[str, str] = {}
        bad: list[str] = []
        for item in filter(None, (part.strip() for part in value.split(","))):
            tenant, sep, region = item.partition("=")
            if not sep or len(region.strip()) != 2:
                bad.append(f"entry {item!r} is not tenant=CC")
                continue
            regions[tenant.strip()] = region.strip().upper()
        if bad:
            raise ValueError("; ".join(bad))
        return regions

    @field_validator("topic_replication_factor")
    @classmethod
    def _replication_for_mode(cls, value: int, info: ValidationInfo) -> int:
        return value or (1 if info.data.get("env") == "dev" else 3)

    @field_validator("batch_max_events", "consumer_fetch_max_wait_ms", "offset_check_seconds")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        return max(1, value)

    @field_validator("session_timeout_seconds")
    @classmethod
    def _at_least_three(cls, value: int) -> int:
        return max(3, value)

    @cached_property  # read once per event on the hot path
    def pii_pepper(self) -> bytes:
        """The PII hashing pepper (revealed only where tokens are made)."""
        return self.pepper.get_secret_value().encode()

    def region_for(self, tenant_id: str) -> str:
        """The default phone region of a tenant (national numbers are read in it)."""
        return self.tenant_regions.get(tenant_id, self.default_region)
