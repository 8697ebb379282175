"""Per-agent CRM identity settings: each CRM's OAuth app (C360_CRM_<VENDOR>_OAUTH_*, with
the vendor's published endpoints as defaults) and the token store's keys (C360_CRM_TOKEN_*).
A CRM without C360_CRM_<VENDOR>_OAUTH_CLIENT_ID has per-agent identity off."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import Field, PositiveInt, SecretStr

from core.crm.ports import CRM_NAMES
from infra.settings_base import Section
from infra.settings_crm import CrmConfigError, CrmSettings, CrmSettingsSet
from infra.settings_streams import RedisSection

# `c360 dev up` and the tests run without configuring keys; anywhere else a published key
# would make every stored token readable, so they are required once an app is configured.
DEV_TOKEN_KEY = "YzM2MC1kZXYtY3JtLXRva2VuLWtleS1ub3Qtc2VjciE="  # noqa: S105 - dev only
DEV_ID_KEY = "c360-dev-crm-token-id-key-not-secret"
OAUTH_CRMS = tuple(name for name in CRM_NAMES if name != "webhook")


class CrmOAuthAppSettings(Section):
    """C360_CRM_<VENDOR>_OAUTH_*: one CRM's OAuth app registration (docs/crm.md)."""

    config_error = CrmConfigError
    error_title = ""

    client_id: str | None = None
    client_secret_value: SecretStr | None = Field(
        default=None, validation_alias="client_secret", repr=False, exclude=True)
    authorize_url: str | None = None
    token_url: str | None = None
    scopes: str | None = None
    redirect_url: str | None = None
    pkce: bool | None = None


class CrmTokenSettings(RedisSection):
    """C360_CRM_TOKEN_KEY (comma-separated Fernet keys: the first seals, all open),
    C360_CRM_TOKEN_ID_KEY (hashes agent ids in store keys; never rotated), the public base
    URL the callbacks are reached at, and how long a connect attempt may take."""

    config_error = CrmConfigError
    error_title = "invalid per-agent CRM identity configuration: "

    env: str = "prod"
    token_key: SecretStr | None = Field(default=None, validation_alias="C360_CRM_TOKEN_KEY",
                                        repr=False, exclude=True)
    id_key: SecretStr | None = Field(default=None, validation_alias="C360_CRM_TOKEN_ID_KEY",
                                     repr=False, exclude=True)
    redirect_base: str | None = Field(default=None,
                                      validation_alias="C360_CRM_OAUTH_REDIRECT_BASE")
    state_ttl_seconds: PositiveInt = Field(default=600,
                                           validation_alias="C360_CRM_OAUTH_STATE_TTL_SECONDS")


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """One CRM's OAuth app, resolved: every URL absolute, PKCE decided."""

    crm: str
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str
    scopes: str
    redirect_url: str
    pkce: bool
    # Extra authorize parameters the vendor needs (Zoho: access_type=offline for a
    # refresh token, prompt=consent so a reconnect gets a new one).
    authorize_extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CrmOAuthConfig:
    """Every CRM with an OAuth app, and the token store's keys; `enabled` when any."""

    apps: Mapping[str, OAuthApp]
    token_keys: tuple[str, ...] = field(repr=False)
    id_key: bytes = field(repr=False)
    state_ttl_seconds: int = 600
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_namespace: str = "c360"

    @property
    def enabled(self) -> bool:
        """True when at least one CRM has per-agent identity."""
        return bool(self.apps)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 crms: CrmSettingsSet | None = None, *,
                 callbacks: bool = True) -> CrmOAuthConfig:
        """Read C360_CRM_*_OAUTH_* and C360_CRM_TOKEN_*; raises CrmConfigError listing every
        problem (an app for an unconfigured CRM, no redirect URL, no keys outside dev).
        `callbacks=False` (the CRM worker: it only refreshes) needs no redirect URL."""
        env = os.environ if env is None else env
        crms = CrmSettingsSet.from_env(env) if crms is None else crms
        store = CrmTokenSettings.load(env)
        problems: list[str] = []
        apps: dict[str, OAuthApp] = {}
        for name in OAUTH_CRMS:
            prefix = f"C360_CRM_{name.upper()}_OAUTH_"
            app = CrmOAuthAppSettings.load(env, prefix)
            if not app.client_id:
                continue
            if name not in crms.crms:
                problems.append(f"{prefix}CLIENT_ID is set but C360_CRM_{name.upper()}_BASE_URL "
                                "is not")
                continue
            redirect = app.redirect_url or (
                f"{store.redirect_base.rstrip('/')}/v1/desktop/crm/{name}/callback"
                if store.redirect_base else None)
            if redirect is None and not callbacks:
                redirect = ""
            if redirect is None:
                problems.append(f"{prefix}REDIRECT_URL or C360_CRM_OAUTH_REDIRECT_BASE is required")
                continue
            apps[name] = _resolve(name, app, crms.crms[name], redirect)
        dev = store.env == "dev"
        keys = store.token_key.get_secret_value() if store.token_key else (
            DEV_TOKEN_KEY if dev else "")
        id_key = store.id_key.get_secret_value() if store.id_key else (DEV_ID_KEY if dev else "")
        if apps and not keys:
            problems.append("C360_CRM_TOKEN_KEY is required outside C360_ENV=dev")
        if apps and not id_key:
            problems.append("C360_CRM_TOKEN_ID_KEY is required outside C360_ENV=dev")
        if problems:
            raise CrmConfigError(CrmTokenSettings.error_title + "; ".join(problems))
        return cls(apps, tuple(k for k in keys.split(",") if k.strip()), id_key.encode(),
                   store.state_ttl_seconds, store.redis_url, store.key_namespace)


def _resolve(name: str, app: CrmOAuthAppSettings, crm: CrmSettings, redirect: str) -> OAuthApp:
    authorize, token, scopes, pkce = vendor_defaults(name, crm)
    secret = app.client_secret_value.get_secret_value() if app.client_secret_value else ""
    extra = {"access_type": "offline", "prompt": "consent"} if name == "zoho" else {}
    return OAuthApp(
        crm=name, client_id=app.client_id or "", client_secret=secret,
        authorize_url=app.authorize_url or authorize, token_url=app.token_url or token,
        scopes=app.scopes if app.scopes is not None else scopes, redirect_url=redirect,
        pkce=pkce if app.pkce is None else app.pkce, authorize_extra=extra,
    )


def vendor_defaults(name: str, crm: CrmSettings) -> tuple[str, str, str, bool]:
    """(authorize URL, token URL, scopes, PKCE) as each vendor publishes them (docs/crm.md
    cites the pages). Zendesk's endpoints live on the account's own host (its base URL);
    Microsoft's name the Entra tenant, and the scope names the Dataverse org."""
    base = crm.base_url
    if name == "salesforce":  # web server flow; My Domain hosts: set the URLs
        login = "https://login.salesforce.com/services/oauth2"
        return f"{login}/authorize", f"{login}/token", "api refresh_token", True
    if name == "hubspot":
        return ("https://app.hubspot.com/oauth/authorize",
                "https://api.hubapi.com/oauth/v1/token",
                "crm.objects.contacts.read crm.objects.contacts.write", False)
    if name == "zendesk":
        return f"{base}/oauth/authorizations/new", f"{base}/oauth/tokens", "read write", True
    if name == "zoho":
        accounts = "https://accounts.zoho.com/oauth/v2"
        return f"{accounts}/auth", f"{accounts}/token", "ZohoCRM.modules.ALL", False
    if name == "dynamics365":
        tenant = crm.tenant_id or "organizations"
        ms = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
        return (f"{ms}/authorize", f"{ms}/token",
                f"{base}/user_impersonation offline_access", True)
    raise CrmConfigError(f"CRM {name!r} has no OAuth authorization-code flow")
