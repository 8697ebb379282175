"""StreamSettings: the Faust process's section of the settings model (infra/settings.py)."""

from __future__ import annotations

from infra.settings_base import ConfigError
from infra.settings_streams import DEV_PEPPER, StreamSettings

__all__ = ["DEV_PEPPER", "ConfigError", "StreamSettings"]
