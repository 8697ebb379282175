"""Desktop gateway configuration: its settings section (infra/) and the service-wide values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.settings_connectors import DEV_AGENTS, DEV_SECRET, GatewayConfigError, GatewaySettings
from schemas.topics import DESKTOP, SCREENPOPS

__all__ = ["DEV_AGENTS", "DEV_SECRET", "GatewayConfig", "GatewayConfigError", "GatewaySettings"]


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
