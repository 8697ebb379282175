"""Credentials (refresh on expiry and once on 401, rotation, failures), settings, factory,
and webhook signatures."""

from __future__ import annotations

import asyncio
import base64

import aiohttp
import pytest

from connectors.crm import webhook_signature
from connectors.crm.auth import OAuthCredential
from connectors.crm.errors import CrmAuthError, CrmUnavailable
from connectors.crm.factory import build_adapter, credential_for
from connectors.crm.settings import CrmConfigError, CrmSettings, CrmSettingsSet
from tests.emulators.base import Fault
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.zendesk import ZendeskEmulator


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth(emulator: HubSpotEmulator, clock: Clock, refresh: str = "hs-refresh") -> OAuthCredential:
    """A HubSpot OAuth credential against the emulator."""
    return OAuthCredential(crm="hubspot", token_url=f"{emulator.url}/oauth/v1/token",
                           grant={"grant_type": "refresh_token", "client_id": "hs-client",
                                  "client_secret": "hs-secret", "refresh_token": refresh},
                           clock=clock)


async def test_token_refreshed_before_expiry(hubspot_emulator: HubSpotEmulator,
                                             crm_session: aiohttp.ClientSession) -> None:
    """A token is reused until expires_in minus the skew, then refreshed proactively."""
    clock = Clock()
    credential = oauth(hubspot_emulator, clock)
    first = await credential.headers(crm_session)
    assert await credential.headers(crm_session) == first
    clock.now += 1800 - 59
    assert await credential.headers(crm_session) != first
    assert hubspot_emulator.refresh_count == 2


async def test_concurrent_401s_refresh_once(hubspot_emulator: HubSpotEmulator,
                                            crm_session: aiohttp.ClientSession) -> None:
    """Two requests that both meet a 401 share one refresh."""
    adapter = build_adapter("hubspot", CrmSettingsSet.from_env(hubspot_emulator.env()),
                            crm_session)
    await adapter.find_contact(phone=None, email="a@example.com")
    hubspot_emulator.expire_tokens()
    await asyncio.gather(adapter.find_contact(phone=None, email="a@example.com"),
                         adapter.find_contact(phone=None, email="b@example.com"))
    assert hubspot_emulator.refresh_count == 2


async def test_refused_refresh_is_an_auth_error(hubspot_emulator: HubSpotEmulator,
                                                crm_session: aiohttp.ClientSession) -> None:
    """A refresh token the server refuses raises CrmAuthError without quoting it."""
    with pytest.raises(CrmAuthError) as info:
        await oauth(hubspot_emulator, Clock(), refresh="revoked").headers(crm_session)
    assert "revoked" not in str(info.value)


async def test_static_token_401_is_an_auth_error(hubspot_emulator: HubSpotEmulator,
                                                 crm_session: aiohttp.ClientSession) -> None:
    """A static token cannot refresh: the first 401 is final."""
    env = {"C360_CRM_HUBSPOT_BASE_URL": hubspot_emulator.url,
           "C360_CRM_HUBSPOT_TOKEN": "pat-na1-unknown"}
    adapter = build_adapter("hubspot", CrmSettingsSet.from_env(env), crm_session)
    with pytest.raises(CrmAuthError):
        await adapter.find_contact(phone=None, email="a@example.com")
    assert hubspot_emulator.refresh_count == 0


async def test_token_endpoint_outage_is_unavailable(hubspot_emulator: HubSpotEmulator,
                                                    crm_session: aiohttp.ClientSession) -> None:
    """Connection refused at the token endpoint is transient, not an auth failure."""
    await hubspot_emulator.stop()
    with pytest.raises(CrmUnavailable):
        await oauth(hubspot_emulator, Clock()).headers(crm_session)


async def test_rotated_refresh_token_is_kept(zendesk_emulator: ZendeskEmulator,
                                             crm_session: aiohttp.ClientSession) -> None:
    """Zendesk invalidates the old refresh token; the next refresh uses the new one."""
    adapter = build_adapter("zendesk", CrmSettingsSet.from_env(zendesk_emulator.env()),
                            crm_session)
    for _ in range(3):
        zendesk_emulator.expire_tokens()
        assert await adapter.find_contact(phone=None, email="x@example.com") is None
    assert zendesk_emulator.refresh_count == 3


async def test_scripted_fault_reaches_adapter_once(hubspot_emulator: HubSpotEmulator,
                                                   crm_session: aiohttp.ClientSession) -> None:
    """A fault applies to one request; the retry (by the worker) then succeeds."""
    adapter = build_adapter("hubspot", CrmSettingsSet.from_env(hubspot_emulator.env()),
                            crm_session)
    await adapter.find_contact(phone=None, email="a@example.com")
    hubspot_emulator.fail_next(Fault(502))
    with pytest.raises(CrmUnavailable):
        await adapter.find_contact(phone=None, email="a@example.com")
    assert await adapter.find_contact(phone=None, email="a@example.com") is None


def test_settings_from_env_keeps_secrets_out_of_repr() -> None:
    """Each configured CRM is parsed; secrets never show in repr."""
    s = CrmSettingsSet.from_env({
        "C360_CRM_SALESFORCE_BASE_URL": "https://acme.my.salesforce.com/",
        "C360_CRM_SALESFORCE_CLIENT_ID": "cid", "C360_CRM_SALESFORCE_CLIENT_SECRET": "sek1",
        "C360_CRM_SALESFORCE_REFRESH_TOKEN": "sek2", "C360_CRM_ZOHO_BASE_URL":
        "https://www.zohoapis.eu", "C360_CRM_ZOHO_TOKEN": "sek3",
        "C360_CRM_ZOHO_TIMEOUT_SECONDS": "2.5"})
    sf, zoho = s.get("salesforce"), s.get("zoho")
    assert sf.base_url == "https://acme.my.salesforce.com" and sf.api_version == "v60.0"
    assert zoho.timeout_seconds == 2.5 and zoho.api_version == "v3"
    assert not any(x in repr(s) for x in ("sek1", "sek2", "sek3"))
    with pytest.raises(CrmConfigError, match="C360_CRM_HUBSPOT_BASE_URL"):
        s.get("hubspot")


def test_settings_list_every_problem() -> None:
    """Missing credentials, bad URLs and timeouts are all reported at once."""
    with pytest.raises(CrmConfigError) as info:
        CrmSettingsSet.from_env({
            "C360_CRM_HUBSPOT_BASE_URL": "api.hubapi.com",
            "C360_CRM_ZENDESK_BASE_URL": "https://acme.zendesk.com",
            "C360_CRM_ZENDESK_TOKEN": "t", "C360_CRM_WEBHOOK_BASE_URL": "https://h.example",
            "C360_CRM_DYNAMICS365_BASE_URL": "https://org.crm.dynamics.com",
            "C360_CRM_DYNAMICS365_CLIENT_ID": "c", "C360_CRM_DYNAMICS365_CLIENT_SECRET": "s",
            "C360_CRM_ZOHO_BASE_URL": "https://www.zohoapis.com",
            "C360_CRM_ZOHO_TOKEN": "t", "C360_CRM_ZOHO_TIMEOUT_SECONDS": "0"})
    text = str(info.value)
    for expected in ("C360_CRM_HUBSPOT_BASE_URL must start", "C360_CRM_HUBSPOT_CLIENT_ID",
                     "C360_CRM_HUBSPOT_REFRESH_TOKEN", "C360_CRM_ZENDESK_EMAIL",
                     "C360_CRM_WEBHOOK_SECRET", "C360_CRM_DYNAMICS365_TENANT_ID",
                     "C360_CRM_ZOHO_TIMEOUT_SECONDS"):
        assert expected in text


async def test_static_credentials_use_each_vendor_scheme() -> None:
    """Zendesk API tokens are basic {email}/token:{token}; Zoho uses Zoho-oauthtoken."""
    zd = credential_for(CrmSettings(name="zendesk", base_url="https://a.zendesk.com",
                                    token="tok", email="agent@acme.com"))
    zoho = credential_for(CrmSettings(name="zoho", base_url="https://z", token="tok"))
    async with aiohttp.ClientSession() as session:
        basic = (await zd.headers(session))["Authorization"]
        assert base64.b64decode(basic.split()[1]) == b"agent@acme.com/token:tok"
        assert (await zoho.headers(session)) == {"Authorization": "Zoho-oauthtoken tok"}
        with pytest.raises(CrmConfigError):
            build_adapter("pipedrive", CrmSettings(name="pipedrive", base_url="https://p"),
                          session)


@pytest.mark.parametrize(
    ("header", "now", "ok"),
    [(webhook_signature.sign("s3", b'{"a":1}', 1000), 1000, True),
     (webhook_signature.sign("s3", b'{"a":1}', 1000), 1301, False),
     (webhook_signature.sign("other", b'{"a":1}', 1000), 1000, False),
     (webhook_signature.sign("s3", b'{"a":2}', 1000), 1000, False),
     ("t=1000,v1=00," + webhook_signature.sign("s3", b'{"a":1}', 1000).split(",")[1], 1000,
      True),
     ("v1=abc", 1000, False), ("garbage", 1000, False), ("t=x,v1=abc", 1000, False)],
)
def test_webhook_signature_verification(header: str, now: int, ok: bool) -> None:
    """Receivers accept only the exact body, the right secret, within 5 minutes."""
    assert webhook_signature.verify("s3", b'{"a":1}', header, now) is ok
