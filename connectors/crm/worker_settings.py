"""WorkerSettings: the CRM sink worker's section of the settings model (infra/settings.py)."""

from __future__ import annotations

from infra.settings_connectors import WorkerConfigError, WorkerSettings

__all__ = ["WorkerConfigError", "WorkerSettings"]
