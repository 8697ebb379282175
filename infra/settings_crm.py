"""Per-CRM sections read from C360_CRM_<VENDOR>_*; credentials are secrets, never in repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    SecretStr,
    field_validator,
    model_validator,
)

from core.crm.ports import CRM_NAMES
from infra.settings_base import ConfigError, Section

DEFAULT_TIMEOUT_SECONDS = 10.0
PREFIX = {name: f"C360_CRM_{name.upper()}_" for name in CRM_NAMES}
_DEFAULT_API_VERSION = {"salesforce": "v60.0", "zoho": "v3", "dynamics365": "v9.2"}


class CrmConfigError(ConfigError):
    """Invalid CRM configuration; the message lists every problem and never quotes a secret."""


def _secret(name: str) -> Any:
    # Stored as SecretStr under <name>_value; `name` (the variable's suffix and the keyword
    # callers pass) is read back through a property of the same name.
    return Field(default=None, validation_alias=name, repr=False, exclude=True)


class CrmSettings(Section):
    """One CRM's connection: base URL, credentials (a static token, or OAuth2 client +
    refresh token, or client credentials for Dynamics), the token endpoint, timeouts."""

    config_error = CrmConfigError
    error_title = ""

    name: str
    base_url: str
    token_value: SecretStr | None = _secret("token")
    client_id: str | None = None
    client_secret_value: SecretStr | None = _secret("client_secret")
    refresh_token_value: SecretStr | None = _secret("refresh_token")
    token_url: str | None = None
    email: str | None = None  # Zendesk API-token user ("{email}/token:{api_token}")
    tenant_id: str | None = None  # Dynamics 365 (Microsoft Entra tenant)
    scope: str | None = None
    api_version: str | None = None
    app_url: str | None = None  # UI base for record links (HubSpot portal, Zoho org)
    secret_value: SecretStr | None = _secret("secret")  # webhook signing secret
    timeout_seconds: PositiveFloat = DEFAULT_TIMEOUT_SECONDS

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _vendor_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("api_version"):
            return {**data, "api_version": _DEFAULT_API_VERSION.get(str(data.get("name")))}
        return data

    @classmethod
    def for_vendor(cls, name: str, env: Mapping[str, str]) -> CrmSettings:
        """The settings of CRM `name` from its C360_CRM_<NAME>_* variables."""
        prefix = PREFIX[name]
        found = cls.load(env, prefix, name=name)
        problems = [f"{prefix}{key} is required" for key in _missing(found)]
        if not found.base_url.startswith(("http://", "https://")):
            problems.insert(0, f"{prefix}BASE_URL must start with http:// or https://")
        if problems:
            raise CrmConfigError("; ".join(problems))
        return found

    @property
    def token(self) -> str | None:
        """The static API token, if any."""
        return _reveal(self.token_value)

    @property
    def client_secret(self) -> str | None:
        """The OAuth2 client secret, if any."""
        return _reveal(self.client_secret_value)

    @property
    def refresh_token(self) -> str | None:
        """The OAuth2 refresh token, if any."""
        return _reveal(self.refresh_token_value)

    @property
    def secret(self) -> str | None:
        """The webhook signing secret, if any."""
        return _reveal(self.secret_value)

    @property
    def uses_oauth(self) -> bool:
        """True when a token endpoint must be called (no static token configured)."""
        return self.token is None


def _reveal(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def _missing(s: CrmSettings) -> list[str]:
    if s.name == "webhook":
        return [] if s.secret else ["SECRET"]
    if s.name == "zendesk" and s.token is not None:
        return [] if s.email else ["EMAIL"]  # an API token is used with the agent's email
    if s.token is not None:
        return []
    needed = {"CLIENT_ID": s.client_id, "CLIENT_SECRET": s.client_secret}
    if s.name == "dynamics365":
        if not s.token_url:
            needed["TENANT_ID"] = s.tenant_id
    else:
        needed["REFRESH_TOKEN"] = s.refresh_token
    return [key for key, value in needed.items() if not value]


class CrmSettingsSet(BaseModel):
    """Every configured CRM by name; build with `from_env`."""

    model_config = ConfigDict(frozen=True)

    crms: dict[str, CrmSettings] = Field(default_factory=dict)

    def get(self, name: str) -> CrmSettings:
        """The settings of one CRM; raises CrmConfigError when it is not configured."""
        try:
            return self.crms[name]
        except KeyError:
            raise CrmConfigError(
                f"CRM {name!r} is not configured (set {PREFIX.get(name, 'C360_CRM_?_')}BASE_URL)"
            ) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CrmSettingsSet:
        """A CRM is configured when C360_CRM_<VENDOR>_BASE_URL is set (the webhook's URL is
        the receiver). Raises CrmConfigError listing all problems at once."""
        env = os.environ if env is None else env
        problems: list[str] = []
        crms: dict[str, CrmSettings] = {}
        for name, prefix in PREFIX.items():
            if env.get(prefix + "BASE_URL", "").strip():
                try:
                    crms[name] = CrmSettings.for_vendor(name, env)
                except CrmConfigError as exc:
                    problems.append(str(exc))
        if problems:
            raise CrmConfigError("; ".join(problems))
        return cls(crms=crms)
