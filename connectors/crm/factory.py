"""build_adapter: the one place a CrmAdapter is assembled from settings and a shared session."""

from __future__ import annotations

import base64

import aiohttp

from connectors.crm import dynamics365, hubspot, salesforce, zendesk, zoho
from connectors.crm.auth import Credential, OAuthCredential, StaticCredential, VendorHttp
from connectors.crm.dynamics365 import Dynamics365CrmAdapter
from connectors.crm.http import ErrorSpeech
from connectors.crm.hubspot import HubSpotCrmAdapter
from connectors.crm.salesforce import SalesforceCrmAdapter
from connectors.crm.settings import CrmConfigError, CrmSettings, CrmSettingsSet
from connectors.crm.webhook import WebhookCrmAdapter
from connectors.crm.zendesk import ZendeskCrmAdapter
from connectors.crm.zoho import ZohoCrmAdapter
from core.crm.ports import CrmAdapter


def build_adapter(
    name: str, settings: CrmSettingsSet | CrmSettings, session: aiohttp.ClientSession,
    credential: Credential | None = None,
) -> CrmAdapter:
    """The adapter for CRM `name`, using `session` (owned by the caller, never closed here)
    and `credential` (default: the tenant's service credentials from the settings; an
    agent's own one for per-agent identity). Raises CrmConfigError for an unknown or
    unconfigured CRM."""
    s = settings.get(name) if isinstance(settings, CrmSettingsSet) else settings
    if name == "webhook":
        return WebhookCrmAdapter(session, url=s.base_url, secret=s.secret or "",
                                 timeout_s=s.timeout_seconds)
    if name == "hubspot":
        return HubSpotCrmAdapter(_http(s, session, credential, hubspot.SPEECH), app_url=s.app_url)
    if name == "salesforce":
        return SalesforceCrmAdapter(_http(s, session, credential, salesforce.SPEECH),
                                    api_version=s.api_version or "v60.0")
    if name == "zendesk":
        return ZendeskCrmAdapter(_http(s, session, credential, zendesk.SPEECH))
    if name == "zoho":
        return ZohoCrmAdapter(_http(s, session, credential, zoho.SPEECH),
                              api_version=s.api_version or "v3", app_url=s.app_url)
    if name == "dynamics365":
        return Dynamics365CrmAdapter(_http(s, session, credential, dynamics365.SPEECH),
                                     api_version=s.api_version or "v9.2")
    raise CrmConfigError(f"unknown CRM {name!r}")


def _http(s: CrmSettings, session: aiohttp.ClientSession, credential: Credential | None,
          speech: ErrorSpeech) -> VendorHttp:
    extra = {"OData-MaxVersion": "4.0", "OData-Version": "4.0"} if s.name == "dynamics365" else {}
    return VendorHttp(crm=s.name, session=session, base_url=s.base_url,
                      credential=credential or credential_for(s), speech=speech,
                      timeout=s.timeout_seconds, extra_headers=extra)


def credential_for(s: CrmSettings) -> Credential:
    """Static token when configured, else the vendor's OAuth2 grant at its token endpoint."""
    scheme = "Zoho-oauthtoken" if s.name == "zoho" else "Bearer"
    if s.token is not None:
        if s.name == "zendesk":
            basic = base64.b64encode(f"{s.email}/token:{s.token}".encode()).decode()
            return StaticCredential("Authorization", f"Basic {basic}")
        return StaticCredential("Authorization", f"{scheme} {s.token}")
    client = {"client_id": s.client_id or "", "client_secret": s.client_secret or ""}
    if s.name == "dynamics365":
        url = s.token_url or f"https://login.microsoftonline.com/{s.tenant_id}/oauth2/v2.0/token"
        grant = {"grant_type": "client_credentials", **client,
                 "scope": s.scope or f"{s.base_url}/.default"}
    else:
        url = s.token_url or _default_token_url(s)
        grant = {"grant_type": "refresh_token", **client, "refresh_token": s.refresh_token or ""}
    return OAuthCredential(crm=s.name, token_url=url, grant=grant, scheme=scheme,
                           timeout=s.timeout_seconds)


def _default_token_url(s: CrmSettings) -> str:
    if s.name == "zoho":
        return "https://accounts.zoho.com/oauth/v2/token"  # the accounts server, not the API host
    path = {"hubspot": "/oauth/v1/token", "salesforce": "/services/oauth2/token",
            "zendesk": "/oauth/tokens"}[s.name]
    return s.base_url + path
