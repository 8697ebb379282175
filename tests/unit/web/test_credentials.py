"""Bearer verifiers: each recognises its own kind only, and refuses its own kind's bad ones."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.gateway import auth
from tests.web_twins import SECRET, TwinApiKeys
from web.access import InvalidCredential
from web.credentials import ApiKeyVerifier, DesktopTokenVerifier, OidcVerifier

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
AGENT_JWT = jwt.encode(
    {"sub": "a", "exp": int(time.time()) + 60}, RSA, algorithm="RS256", headers={"kid": "k"}
)


async def test_each_verifier_passes_other_kinds_on() -> None:
    keys = TwinApiKeys()
    key = keys.mint("acme", ["timeline:read"])
    desktop = auth.issue(SECRET, "acme", "agent-1", time.time(), 600)
    api, dt, oidc = ApiKeyVerifier(keys), DesktopTokenVerifier(SECRET), OidcVerifier(None)
    assert (await api.verify(key)).tenant == "acme"
    who = await dt.verify(desktop)
    assert (who.kind, who.subject, who.tenant) == ("agent", "agent-1", "acme")
    assert who.scopes == {"desktop", "timeline:read"}
    for verifier, others in (
        (api, (desktop, AGENT_JWT, "x")),
        (dt, (key, AGENT_JWT, "x")),
        (oidc, (key, desktop, "a.b.c", "x")),
    ):
        for token in others:
            assert await verifier.verify(token) is None


async def test_own_kind_refusals() -> None:
    keys = TwinApiKeys()
    revoked = keys.mint("acme", revoked=True)
    with pytest.raises(InvalidCredential, match="revoked"):
        await ApiKeyVerifier(keys).verify(revoked)
    with pytest.raises(InvalidCredential, match="not a c360 API key"):
        await ApiKeyVerifier(keys).verify("c360k_short")
    other = auth.issue(b"another-secret-0123456789", "acme", "a", time.time(), 600)
    with pytest.raises(InvalidCredential, match="signature"):
        await DesktopTokenVerifier(SECRET).verify(other)
    with pytest.raises(InvalidCredential, match="no OIDC issuer is configured"):
        await OidcVerifier(None).verify(AGENT_JWT)
