"""Per-CRM settings read once from the environment (C360_CRM_<VENDOR>_*); secrets never in repr."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.crm.ports import CRM_NAMES
from schemas.errors import C360Error

DEFAULT_TIMEOUT_SECONDS = 10.0
_PREFIX = {name: f"C360_CRM_{name.upper()}_" for name in CRM_NAMES}
_DEFAULT_API_VERSION = {"salesforce": "v60.0", "zoho": "v3", "dynamics365": "v9.2"}


class CrmConfigError(C360Error, ValueError):
    """Invalid CRM configuration; the message lists every problem and never quotes a secret."""


@dataclass(frozen=True, slots=True)
class CrmSettings:
    """One CRM's connection: base URL, credentials (a static token, or OAuth2 client +
    refresh token, or client credentials for Dynamics), the token endpoint, timeouts."""

    name: str
    base_url: str
    token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_url: str | None = None
    email: str | None = None  # Zendesk API-token user ("{email}/token:{api_token}")
    tenant_id: str | None = None  # Dynamics 365 (Microsoft Entra tenant)
    scope: str | None = None
    api_version: str | None = None
    app_url: str | None = None  # UI base for record links (HubSpot portal, Zoho org)
    secret: str | None = field(default=None, repr=False)  # webhook signing secret
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def uses_oauth(self) -> bool:
        """True when a token endpoint must be called (no static token configured)."""
        return self.token is None


@dataclass(frozen=True, slots=True)
class CrmSettingsSet:
    """Every configured CRM by name; build with `from_env`."""

    crms: dict[str, CrmSettings] = field(default_factory=dict)

    def get(self, name: str) -> CrmSettings:
        """The settings of one CRM; raises CrmConfigError when it is not configured."""
        try:
            return self.crms[name]
        except KeyError:
            raise CrmConfigError(f"CRM {name!r} is not configured "
                                 f"(set {_PREFIX.get(name, 'C360_CRM_?_')}BASE_URL)") from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CrmSettingsSet:
        """A CRM is configured when C360_CRM_<VENDOR>_BASE_URL is set (the webhook's URL is
        the receiver). Raises CrmConfigError listing all problems at once."""
        env = os.environ if env is None else env
        problems: list[str] = []
        crms = {}
        for name, prefix in _PREFIX.items():
            if env.get(prefix + "BASE_URL", "").strip():
                crms[name] = _one(name, prefix, env, problems)
        if problems:
            raise CrmConfigError("; ".join(problems))
        return cls(crms)


def _one(name: str, prefix: str, env: Mapping[str, str], problems: list[str]) -> CrmSettings:
    def get(key: str) -> str | None:
        return env.get(prefix + key, "").strip() or None

    base = (get("BASE_URL") or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        problems.append(f"{prefix}BASE_URL must start with http:// or https://")
    timeout = DEFAULT_TIMEOUT_SECONDS
    raw = get("TIMEOUT_SECONDS")
    if raw is not None:
        try:
            timeout = float(raw)
            if timeout <= 0:
                raise ValueError
        except ValueError:
            problems.append(f"{prefix}TIMEOUT_SECONDS must be a positive number")
    settings = CrmSettings(
        name=name, base_url=base, token=get("TOKEN"), client_id=get("CLIENT_ID"),
        client_secret=get("CLIENT_SECRET"), refresh_token=get("REFRESH_TOKEN"),
        token_url=get("TOKEN_URL"), email=get("EMAIL"), tenant_id=get("TENANT_ID"),
        scope=get("SCOPE"), api_version=get("API_VERSION") or _DEFAULT_API_VERSION.get(name),
        app_url=get("APP_URL"), secret=get("SECRET"), timeout_seconds=timeout,
    )
    problems.extend(f"{prefix}{key}" + " is required" for key in _missing(settings))
    return settings


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
