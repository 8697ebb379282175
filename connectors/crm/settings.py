"""Per-CRM settings (C360_CRM_<VENDOR>_*): the CRM sections of the settings model (infra/)."""

from __future__ import annotations

from infra.settings_crm import DEFAULT_TIMEOUT_SECONDS, CrmConfigError, CrmSettings, CrmSettingsSet

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "CrmConfigError", "CrmSettings", "CrmSettingsSet"]
