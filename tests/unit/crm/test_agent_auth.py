"""Per-agent CRM identity, pure parts: signed state, PKCE, token sets, sealing, settings."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.fernet import Fernet

from core.crm.agent_auth import (
    AgentTokens,
    InvalidState,
    SealedUnreadable,
    StateClaims,
    agent_token,
    derive_key,
    pkce_challenge,
    pkce_pair,
    read_state,
    sign_state,
    tokens_from_grant,
)
from infra.settings_crm import CrmConfigError
from infra.settings_crm_oauth import CrmOAuthConfig
from infra.token_crypto import FernetSealer, new_key

KEY = derive_key(b"unit-secret", "crm-oauth-state")
CLAIMS = StateClaims("n1", "acme", "agent@example.com", "salesforce", 1_000.0)


def test_a_signed_state_reads_back_its_claims() -> None:
    """tenant, agent, CRM and nonce come back from a state this service signed."""
    assert read_state(KEY, sign_state(KEY, CLAIMS), "salesforce", 999.0) == CLAIMS


@pytest.mark.parametrize(
    ("state", "crm", "now", "why"),
    [
        (sign_state(KEY, CLAIMS), "salesforce", 1_000.0, "expired"),
        (sign_state(KEY, CLAIMS), "hubspot", 10.0, "another CRM"),
        (sign_state(derive_key(b"other", "crm-oauth-state"), CLAIMS), "salesforce", 10.0,
         "not issued"),
        ("garbage", "salesforce", 10.0, "malformed"),
        ("", "salesforce", 10.0, "malformed"),
    ],
)
def test_a_bad_state_is_refused_with_the_reason(state: str, crm: str, now: float,
                                                why: str) -> None:
    """Expired, for another CRM, forged or malformed: InvalidState naming why."""
    with pytest.raises(InvalidState, match=why):
        read_state(KEY, state, crm, now)


def test_a_tampered_payload_fails_the_mac() -> None:
    """Changing the agent inside the payload breaks the signature."""
    payload, mac = sign_state(KEY, CLAIMS).split(".")
    other = sign_state(KEY, StateClaims("n1", "acme", "mallory", "salesforce", 1_000.0))
    with pytest.raises(InvalidState, match="not issued"):
        read_state(KEY, f"{other.split('.')[0]}.{mac}", "salesforce", 10.0)
    assert payload != other.split(".")[0]


def test_pkce_is_rfc7636_s256() -> None:
    """The challenge is BASE64URL(SHA256(verifier)) unpadded; the RFC's appendix B pair."""
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_token_sets_keep_what_a_refresh_does_not_repeat() -> None:
    """A refresh without refresh_token/instance_url keeps the previous ones; expiry is
    absolute; Salesforce's identity URL names the user."""
    first = tokens_from_grant({"access_token": "a1", "refresh_token": "r1",
                               "instance_url": "https://x.my.salesforce.com/",
                               "id": "https://login/id/00D/005A"}, 100.0)
    assert (first.refresh_token, first.instance_url, first.expires_at) == (
        "r1", "https://x.my.salesforce.com", None)
    again = tokens_from_grant({"access_token": "a2", "expires_in": 1800}, 200.0, first)
    assert (again.access_token, again.refresh_token, again.expires_at) == ("a2", "r1", 2000.0)
    rotated = tokens_from_grant({"access_token": "a3", "refresh_token": "r2"}, 0.0, again)
    assert rotated.refresh_token == "r2"
    with pytest.raises(ValueError, match="access_token"):
        tokens_from_grant({"error": "invalid_grant"}, 0.0)


def test_secrets_never_in_repr() -> None:
    """A token set's repr names no token."""
    tokens = AgentTokens("ACCESS-SECRET", "REFRESH-SECRET", 1.0, None, "u")
    assert "SECRET" not in repr(tokens)


def test_agent_ids_are_keyed_hashes() -> None:
    """Stable per key, different across keys and tenants, never the id itself."""
    a = agent_token(b"k1", "acme", "agent@example.com")
    assert a == agent_token(b"k1", "acme", "agent@example.com")
    assert a != agent_token(b"k2", "acme", "agent@example.com")
    assert a != agent_token(b"k1", "beta", "agent@example.com")
    assert "agent" not in a


def test_sealer_rotation_old_records_open_new_ones_use_the_first_key() -> None:
    """MultiFernet: seal with the first key, open with any; a retired key's records do
    not open (SealedUnreadable)."""
    old, new = new_key(), new_key()
    sealed_old = FernetSealer([old]).seal(b"tokens")
    both = FernetSealer([new, old])
    assert both.open(sealed_old) == b"tokens"
    rotated = both.rotate(sealed_old)
    assert FernetSealer([new]).open(rotated) == b"tokens"
    assert b"tokens" not in both.seal(b"tokens")
    with pytest.raises(SealedUnreadable):
        FernetSealer([new]).open(sealed_old)
    with pytest.raises(ValueError):
        FernetSealer(["not-a-key"])
    assert Fernet(new.encode())  # keys from new_key are Fernet keys


ENV = {
    "C360_CRM_SALESFORCE_BASE_URL": "https://acme.my.salesforce.com",
    "C360_CRM_SALESFORCE_TOKEN": "static",
    "C360_CRM_ZENDESK_BASE_URL": "https://acme.zendesk.com",
    "C360_CRM_ZENDESK_TOKEN": "static",
    "C360_CRM_ZENDESK_EMAIL": "bot@acme.test",
    "C360_CRM_DYNAMICS365_BASE_URL": "https://acme.crm.dynamics.com",
    "C360_CRM_DYNAMICS365_TOKEN": "static",
    "C360_CRM_ZOHO_BASE_URL": "https://www.zohoapis.com",
    "C360_CRM_ZOHO_TOKEN": "static",
    "C360_CRM_HUBSPOT_BASE_URL": "https://api.hubapi.com",
    "C360_CRM_HUBSPOT_TOKEN": "static",
    "C360_CRM_OAUTH_REDIRECT_BASE": "https://c360.acme.test/",
    "C360_CRM_TOKEN_KEY": new_key(),
    "C360_CRM_TOKEN_ID_KEY": "id-key",
}


def _with_apps(*names: str, **extra: str) -> dict[str, str]:
    apps = {}
    for name in names:
        prefix = f"C360_CRM_{name.upper()}_OAUTH_"
        apps |= {prefix + "CLIENT_ID": f"{name}-id", prefix + "CLIENT_SECRET": f"{name}-secret"}
    return {**ENV, **apps, **extra}


def test_vendor_defaults_are_the_published_endpoints() -> None:
    """Each vendor's authorize/token URLs, scopes and PKCE; redirect from the base."""
    apps = CrmOAuthConfig.from_env(_with_apps(
        "salesforce", "hubspot", "zendesk", "zoho", "dynamics365",
        C360_CRM_DYNAMICS365_TENANT_ID="contoso.onmicrosoft.com")).apps
    sf, hs, zd, zo, dy = (apps[n] for n in ("salesforce", "hubspot", "zendesk", "zoho",
                                            "dynamics365"))
    assert sf.authorize_url == "https://login.salesforce.com/services/oauth2/authorize"
    assert sf.token_url == "https://login.salesforce.com/services/oauth2/token"
    assert sf.pkce and "refresh_token" in sf.scopes
    assert sf.redirect_url == "https://c360.acme.test/v1/desktop/crm/salesforce/callback"
    assert hs.authorize_url == "https://app.hubspot.com/oauth/authorize"
    assert hs.token_url == "https://api.hubapi.com/oauth/v1/token"
    assert zd.authorize_url == "https://acme.zendesk.com/oauth/authorizations/new"
    assert zd.token_url == "https://acme.zendesk.com/oauth/tokens" and zd.pkce
    assert zo.authorize_url == "https://accounts.zoho.com/oauth/v2/auth"
    assert zo.authorize_extra == {"access_type": "offline", "prompt": "consent"}
    assert dy.authorize_url == ("https://login.microsoftonline.com/contoso.onmicrosoft.com"
                                "/oauth2/v2.0/authorize")
    assert dy.scopes == "https://acme.crm.dynamics.com/user_impersonation offline_access"
    assert "secret" not in repr(sf)


def test_no_client_id_means_off_and_needs_no_keys() -> None:
    """Without OAuth apps the feature is off; keys are then not required."""
    config = CrmOAuthConfig.from_env({"C360_CRM_HUBSPOT_BASE_URL": "https://api.hubapi.com",
                                      "C360_CRM_HUBSPOT_TOKEN": "t"})
    assert not config.enabled


def test_every_problem_is_listed() -> None:
    """No redirect, no keys outside dev, an app for an unconfigured CRM: all named."""
    env = {k: v for k, v in _with_apps("salesforce").items()
           if k not in ("C360_CRM_OAUTH_REDIRECT_BASE", "C360_CRM_TOKEN_KEY",
                        "C360_CRM_TOKEN_ID_KEY", "C360_CRM_ZENDESK_BASE_URL")}
    env |= {"C360_CRM_HUBSPOT_OAUTH_CLIENT_ID": "x",
            "C360_CRM_ZENDESK_OAUTH_CLIENT_ID": "y",
            "C360_CRM_HUBSPOT_OAUTH_REDIRECT_URL": "https://c/cb"}
    with pytest.raises(CrmConfigError) as caught:
        CrmOAuthConfig.from_env(env)
    text = str(caught.value)
    assert "C360_CRM_SALESFORCE_OAUTH_REDIRECT_URL or C360_CRM_OAUTH_REDIRECT_BASE" in text
    assert "C360_CRM_ZENDESK_BASE_URL is not" in text
    assert "C360_CRM_TOKEN_KEY is required" in text
    assert "C360_CRM_TOKEN_ID_KEY is required" in text


def test_dev_mode_has_working_default_keys() -> None:
    """C360_ENV=dev: a usable Fernet key and id key without configuration."""
    env = {k: v for k, v in _with_apps("hubspot").items()
           if k not in ("C360_CRM_TOKEN_KEY", "C360_CRM_TOKEN_ID_KEY")}
    config = CrmOAuthConfig.from_env({**env, "C360_ENV": "dev"})
    assert FernetSealer(config.token_keys).open(FernetSealer(config.token_keys).seal(b"x"))
    assert config.id_key


def test_the_worker_needs_no_redirect_url() -> None:
    """The CRM worker only refreshes: no redirect URL is required of it."""
    env = {k: v for k, v in _with_apps("zendesk").items()
           if k != "C360_CRM_OAUTH_REDIRECT_BASE"}
    with pytest.raises(CrmConfigError, match="REDIRECT"):
        CrmOAuthConfig.from_env(env)
    assert CrmOAuthConfig.from_env(env, callbacks=False).apps["zendesk"].token_url == (
        "https://acme.zendesk.com/oauth/tokens")
