"""Desktop gateway configuration: token secret, buffers, dev login, read once from C360_*."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import C360Error
from schemas.topics import DESKTOP, SCREENPOPS

# `c360 dev up` must work with no configuration; a published secret is only acceptable
# there, because anyone holding it can mint a token for any agent.
DEV_SECRET = "c360-dev-gateway-secret-not-secret"  # noqa: S105 - dev-only, by design
_MIN_SECRET = 16
DEV_AGENTS = ("agent-1", "agent-2", "agent-3")


class GatewayConfigError(C360Error, ValueError):
    """Invalid gateway configuration; the message lists every problem at once."""


# field -> (environment variable, smallest accepted value); defaults are the dataclass's.
_INTS = {
    "token_ttl_seconds": ("C360_GATEWAY_TOKEN_TTL_SECONDS", 60),
    "buffer_size": ("C360_GATEWAY_BUFFER", 1),
    "recent_seconds": ("C360_GATEWAY_RECENT_SECONDS", 0),
    "fresh_seconds": ("C360_GATEWAY_FRESH_SECONDS", 0),
    "heartbeat_seconds": ("C360_GATEWAY_HEARTBEAT_SECONDS", 1),
    "max_reread": ("C360_GATEWAY_MAX_REREAD", 1),
    "warm_records": ("C360_GATEWAY_WARM_RECORDS", 0),
    "ready_timeout_seconds": ("C360_GATEWAY_READY_TIMEOUT_SECONDS", 1),
}


def _ints(env: Mapping[str, str], problems: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, (var, least) in _INTS.items():
        raw = env.get(var, "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) < least:
            problems.append(f"{var} must be an integer >= {least}, got {raw!r}")
            continue
        out[name] = int(raw)
    return out


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """What the gateway reads from the environment (see docs/desktop.md for each variable)."""

    secret: bytes = field(default=DEV_SECRET.encode(), repr=False)
    dev: bool = False
    token_ttl_seconds: int = 12 * 3600
    buffer_size: int = 20
    recent_seconds: int = 900
    # A pop that rang longer ago than this is shown as an earlier call, never as ringing.
    fresh_seconds: int = 120
    heartbeat_seconds: int = 15
    max_reread: int = 10_000
    warm_records: int = 200
    ready_timeout_seconds: int = 15
    dev_agents: tuple[str, ...] = DEV_AGENTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        """Parse C360_GATEWAY_* and C360_ENV; raises GatewayConfigError listing all problems
        (never quoting the secret)."""
        env = os.environ if env is None else env
        problems: list[str] = []
        dev = env.get("C360_ENV", "prod") == "dev"
        secret = env.get("C360_GATEWAY_SECRET", "")
        if not secret:
            if dev:
                secret = DEV_SECRET
            else:
                problems.append("C360_GATEWAY_SECRET is required outside C360_ENV=dev")
        elif len(secret) < _MIN_SECRET:
            problems.append(f"C360_GATEWAY_SECRET must be at least {_MIN_SECRET} characters")
        agents = tuple(
            a.strip() for a in env.get("C360_GATEWAY_DEV_AGENTS", "").split(",") if a.strip()
        )
        ints = _ints(env, problems)
        if problems:
            raise GatewayConfigError("invalid gateway configuration: " + "; ".join(problems))
        return cls(secret=secret.encode(), dev=dev, dev_agents=agents or DEV_AGENTS, **ints)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The service-wide values the gateway needs, read duck-typed from the app's settings
    (connectors never import streams)."""

    bootstrap: str
    screenpops_topic: str
    desktop_topic: str
    default_tenant: str
    schema_registry_url: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> GatewayConfig:
        """Topics carry the deployment's prefix (tests isolate runs with one)."""
        prefix = str(getattr(settings, "topic_prefix", ""))
        return cls(
            bootstrap=str(settings.kafka_bootstrap_servers),
            screenpops_topic=prefix + SCREENPOPS,
            desktop_topic=prefix + DESKTOP,
            default_tenant=str(getattr(settings, "default_tenant", "demo")),
            schema_registry_url=str(getattr(settings, "schema_registry_url", "") or ""),
        )
