"""CRM sink worker configuration, read once from C360_* variables (tests pass a dict)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.errors import C360Error


class WorkerConfigError(C360Error, ValueError):
    """Invalid CRM sink worker configuration; the message lists every problem at once."""


def _number(
    env: Mapping[str, str], name: str, default: float, problems: list[str], *, positive: bool
) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return default
    if value < 0 or (positive and value == 0):
        problems.append(f"{name} must be {'> 0' if positive else '>= 0'}, got {raw}")
        return default
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything `python -m connectors.crm.worker` needs besides the adapters' own config."""

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    group_id: str = "c360-crm-sink"
    client_id: str = "c360-crm-sink"
    env: str = "prod"
    # Ledger of written activities (idempotency key -> CRM ids, revision): sqlite file in
    # data_dir, or "memory" (then the CRM-side upsert by key is the only dedupe).
    ledger: str = "sqlite"
    data_dir: str = "./data"
    routing_file: str | None = None
    default_crm: str | None = None
    create_contacts: bool = False
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 60.0
    # Past this, a request the CRM keeps refusing as transient is dead-lettered
    # (infra_unavailable) so one poisoned request cannot hold its partition forever.
    retry_deadline_seconds: float = 86_400.0
    max_payload_bytes: int = 1_048_576
    poll_timeout_seconds: float = 1.0
    max_poll_interval_ms: int = 300_000
    # How long the group waits for a member that vanished (kill -9) before handing its
    # partitions to another: lower = faster failover, higher = fewer false evictions.
    session_timeout_ms: int = 45_000
    log_format: str = "json"
    log_level: str = "INFO"
    # TEST ONLY: exit(137) right after a successful CRM write, before the ledger and the
    # offset commit, to prove a restart does not duplicate the activity.
    crash_after_write: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        """Parse and validate; raises WorkerConfigError listing all problems."""
        env = os.environ if env is None else env
        problems: list[str] = []
        mode = env.get("C360_ENV", "prod")
        ledger = env.get("C360_CRM_LEDGER", "sqlite")
        if ledger not in {"sqlite", "memory"}:
            problems.append(f"C360_CRM_LEDGER must be sqlite or memory, got {ledger!r}")
        initial = _number(env, "C360_CRM_RETRY_INITIAL_SECONDS", 0.5, problems, positive=True)
        cap = _number(env, "C360_CRM_RETRY_MAX_SECONDS", 60.0, problems, positive=True)
        if cap < initial:
            problems.append("C360_CRM_RETRY_MAX_SECONDS must be >= C360_CRM_RETRY_INITIAL_SECONDS")
        settings = cls(
            kafka_bootstrap_servers=env.get("C360_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            topic_prefix=env.get("C360_TOPIC_PREFIX", ""),
            group_id=env.get("C360_CRM_GROUP_ID", "c360-crm-sink"),
            client_id=env.get("C360_CRM_CLIENT_ID", "c360-crm-sink"),
            env=mode,
            ledger=ledger,
            data_dir=env.get("C360_DATA_DIR", "./data"),
            routing_file=env.get("C360_CRM_ROUTING_FILE") or None,
            default_crm=env.get("C360_CRM_DEFAULT") or None,
            create_contacts=_flag(env, "C360_CRM_CREATE_CONTACTS"),
            retry_initial_seconds=initial,
            retry_max_seconds=cap,
            retry_deadline_seconds=_number(
                env, "C360_CRM_RETRY_DEADLINE_SECONDS", 86_400.0, problems, positive=True
            ),
            max_payload_bytes=int(
                _number(env, "C360_MAX_PAYLOAD_BYTES", 1_048_576, problems, positive=True)
            ),
            poll_timeout_seconds=_number(
                env, "C360_CRM_POLL_TIMEOUT_SECONDS", 1.0, problems, positive=True
            ),
            max_poll_interval_ms=int(
                _number(env, "C360_CRM_MAX_POLL_INTERVAL_MS", 300_000, problems, positive=True)
            ),
            session_timeout_ms=int(
                _number(env, "C360_CRM_SESSION_TIMEOUT_MS", 45_000, problems, positive=True)
            ),
            log_format=env.get("C360_LOG_FORMAT", "console" if mode == "dev" else "json"),
            log_level=env.get("C360_LOG_LEVEL", "INFO").upper(),
            crash_after_write=_flag(env, "C360_CRM_TEST_CRASH_AFTER_WRITE"),
        )
        if problems:
            raise WorkerConfigError("invalid CRM worker configuration: " + "; ".join(problems))
        return settings

    def topic(self, name: str) -> str:
        """A catalogue topic name with this deployment's prefix."""
        return self.topic_prefix + name
