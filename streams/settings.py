"""StreamSettings: the Faust process's configuration, read once from C360_* variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# One ConfigError for settings and tenant config files (core.rules_config, infra.reload),
# re-exported here for the callers that catch it with the settings.
from core.errors import ConfigError as ConfigError  # noqa: PLC0414

# A fixed development pepper keeps `c360 dev up` zero-config; outside C360_ENV=dev a real
# secret is required, because tokens made with a published pepper are reversible.
DEV_PEPPER = "c360-dev-pepper-not-secret"




def _int(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be an integer, got {raw!r}")
        return default
    if value < 0:
        problems.append(f"{name} must be >= 0, got {value}")
    return value


def _regions(raw: str, problems: list[str]) -> dict[str, str]:
    regions: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        tenant, sep, region = item.partition("=")
        if not sep or len(region.strip()) != 2:
            problems.append(f"C360_TENANT_REGIONS entry {item!r} is not tenant=CC")
            continue
        regions[tenant.strip()] = region.strip().upper()
    return regions


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Everything the streams process needs; build with `from_env` (tests pass a dict)."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    app_id: str = "c360"
    topic_prefix: str = ""
    key_namespace: str = "c360"
    env: str = "prod"
    pii_pepper: bytes = field(default=b"", repr=False)
    default_region: str = "US"
    tenant_regions: dict[str, str] = field(default_factory=dict)
    default_tenant: str = "demo"
    timeline_max_entries: int = 50
    timeline_retention_days: int = 365
    activity_min_call_seconds: int = 10
    max_payload_bytes: int = 1_048_576
    redis_retry_deadline_seconds: int = 300
    party_link_ttl_seconds: int = 7 * 24 * 3600
    log_format: str = "json"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8360
    topic_replication_factor: int = 3
    schema_registry_url: str = ""
    # Tenant configuration files ("" = built-in defaults); each is validated at start-up and
    # re-read when it changes where its loader says so (docs/operations.md).
    rules_file: str = ""
    topics_file: str = ""
    profile_schema_file: str = ""
    layout_file: str = ""
    # Latency knobs (docs/performance.md): the most events one pass takes, how long an idle
    # worker lingers for more before it starts one (0: at once), and how long a consumer
    # fetch may wait at the broker.
    batch_max_events: int = 500
    batch_within_ms: int = 0
    consumer_fetch_max_wait_ms: int = 5
    # Faust consumer group session: a dead worker's partitions move after this long.
    session_timeout_seconds: int = 10
    # Static membership (KIP-345): a stable id per worker (e.g. the pod name) lets a worker
    # restarted within the session timeout take its partitions back without a rebalance.
    group_instance_id: str = ""
    # How often the worker checks that its positions are inside the log (streams/offset_guard.py).
    offset_check_seconds: int = 30
    # Events stamped further ahead of this worker's clock are refused as implausible
    # (schemas.validation; producers' clock skew is allowed for up to this).
    max_future_seconds: int = 86_400

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StreamSettings:
        """Parse and validate; raises ConfigError listing all problems."""
        env = os.environ if env is None else env
        problems: list[str] = []
        mode = env.get("C360_ENV", "prod")
        pepper = env.get("C360_PII_PEPPER", "")
        if not pepper:
            if mode == "dev":
                pepper = DEV_PEPPER
            else:
                problems.append("C360_PII_PEPPER is required outside C360_ENV=dev")
        region = env.get("C360_DEFAULT_REGION", "US").upper()
        if len(region) != 2:
            problems.append(f"C360_DEFAULT_REGION must be a 2-letter region, got {region!r}")
        settings = cls(
            kafka_bootstrap_servers=env.get("C360_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            redis_url=env.get("C360_REDIS_URL", "redis://127.0.0.1:6379/0"),
            app_id=env.get("C360_APP_ID", "c360"),
            topic_prefix=env.get("C360_TOPIC_PREFIX", ""),
            key_namespace=env.get("C360_KEY_NAMESPACE", "c360"),
            env=mode,
            pii_pepper=pepper.encode(),
            default_region=region,
            tenant_regions=_regions(env.get("C360_TENANT_REGIONS", ""), problems),
            default_tenant=env.get("C360_DEFAULT_TENANT", "demo"),
            timeline_max_entries=_int(env, "C360_TIMELINE_MAX_ENTRIES", 50, problems),
            timeline_retention_days=_int(env, "C360_TIMELINE_RETENTION_DAYS", 365, problems),
            activity_min_call_seconds=_int(env, "C360_ACTIVITY_MIN_CALL_SECONDS", 10, problems),
            max_payload_bytes=_int(env, "C360_MAX_PAYLOAD_BYTES", 1_048_576, problems),
            redis_retry_deadline_seconds=_int(
                env, "C360_REDIS_RETRY_DEADLINE_SECONDS", 300, problems
            ),
            party_link_ttl_seconds=_int(
                env, "C360_PARTY_LINK_TTL_SECONDS", 7 * 24 * 3600, problems
            ),
            log_format=env.get("C360_LOG_FORMAT", "console" if mode == "dev" else "json"),
            log_level=env.get("C360_LOG_LEVEL", "INFO").upper(),
            http_host=env.get("C360_HTTP_HOST", "127.0.0.1"),
            http_port=_int(env, "C360_HTTP_PORT", 8360, problems),
            schema_registry_url=env.get("C360_SCHEMA_REGISTRY_URL", ""),
            rules_file=env.get("C360_RULES_FILE", ""),
            topics_file=env.get("C360_TOPICS_FILE", ""),
            profile_schema_file=env.get("C360_PROFILE_SCHEMA_FILE", ""),
            layout_file=env.get("C360_LAYOUT_FILE", ""),
            batch_max_events=max(1, _int(env, "C360_BATCH_MAX_EVENTS", 500, problems)),
            batch_within_ms=_int(env, "C360_BATCH_WITHIN_MS", 0, problems),
            consumer_fetch_max_wait_ms=max(
                1, _int(env, "C360_CONSUMER_FETCH_MAX_WAIT_MS", 5, problems)
            ),
            session_timeout_seconds=max(
                3, _int(env, "C360_SESSION_TIMEOUT_SECONDS", 10, problems)
            ),
            max_future_seconds=_int(env, "C360_MAX_FUTURE_SECONDS", 86_400, problems),
            group_instance_id=env.get("C360_GROUP_INSTANCE_ID", ""),
            offset_check_seconds=max(1, _int(env, "C360_OFFSET_CHECK_SECONDS", 30, problems)),
            topic_replication_factor=_int(
                env, "C360_TOPIC_REPLICATION_FACTOR", 1 if mode == "dev" else 3, problems
            ),
        )
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return settings

    def region_for(self, tenant_id: str) -> str:
        """The default phone region of a tenant (national numbers are read in it)."""
        return self.tenant_regions.get(tenant_id, self.default_region)

    def topic(self, name: str) -> str:
        """A catalogue topic name with this deployment's prefix."""
        return self.topic_prefix + name
