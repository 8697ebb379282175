"""Settings: the one typed model of every C360_* variable, grouped in sections."""

from __future__ import annotations

import os
from collections.abc import Mapping

from infra.settings_access import AccessSettings
from infra.settings_base import ConfigError, Section
from infra.settings_connectors import GatewaySettings, IngestSection, WorkerSettings
from infra.settings_crm import CrmSettingsSet
from infra.settings_streams import StreamSettings, ToolSettings
from infra.settings_web import QuerySettings, WebSettings

__all__ = ["ConfigError", "Section", "Settings"]


class Settings(Section):
    """Every section of a deployment. A process loads the sections it runs (each one's
    `from_env`, so a CRM worker needs no gateway secret); `Settings.from_env` validates
    them all at once, e.g. for a check of a whole deployment's environment."""

    streams: StreamSettings
    tools: ToolSettings
    web: WebSettings
    read: QuerySettings
    gateway: GatewaySettings
    ingest: IngestSection
    worker: WorkerSettings
    crm: CrmSettingsSet
    access: AccessSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every section from one mapping; raises ConfigError listing each section's problems."""
        env = os.environ if env is None else env
        loaders = {
            "streams": StreamSettings.from_env,
            "tools": ToolSettings.from_env,
            "web": WebSettings.from_env,
            "read": QuerySettings.from_env,
            "gateway": GatewaySettings.from_env,
            "ingest": IngestSection.from_env,
            "worker": WorkerSettings.from_env,
            "crm": CrmSettingsSet.from_env,
            "access": AccessSettings.from_env,
        }
        sections: dict[str, object] = {}
        problems: list[str] = []
        for name, load in loaders.items():
            try:
                sections[name] = load(env)
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("; ".join(problems))
        return cls.model_validate(sections)
