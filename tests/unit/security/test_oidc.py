"""Agent JWTs against a JWKS made by the test: every accepted and refused case."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.oidc import InvalidToken, JwksVerifier, OidcSettings

ISSUER, AUDIENCE = "https://idp.test/", "c360"
SETTINGS = OidcSettings(ISSUER, AUDIENCE, "https://idp.test/jwks", leeway_seconds=5)


def keypair(kid: str):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


KEY1, JWK1 = keypair("k1")
KEY2, JWK2 = keypair("k2")


def token(key=KEY1, kid="k1", **claims):
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "agent-1", "iat": now, "exp": now + 300,
            "c360_tenant": "acme", **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


class Issuer:
    def __init__(self, *jwks):
        self.jwks, self.calls = list(jwks), 0

    async def __call__(self, url):
        assert url == SETTINGS.jwks_url
        self.calls += 1
        return {"keys": self.jwks}


async def test_a_valid_agent_token_gives_the_agent_its_tenant_and_scopes():
    verifier = JwksVerifier(SETTINGS, Issuer(JWK1))
    got = await verifier.verify(token(scope="desktop timeline:read bogus"))
    assert (got.kind, got.subject, got.tenant) == ("agent", "agent-1", "acme")
    assert got.scopes == frozenset({"desktop", "timeline:read"})
    assert (await verifier.verify(token())).scopes == frozenset({"desktop"})


@pytest.mark.parametrize(("claims", "reason"), [
    ({"exp": int(time.time()) - 60}, "expired"),
    ({"aud": "someone-else"}, "InvalidAudience"),
    ({"iss": "https://evil.test/"}, "InvalidIssuer"),
    ({"c360_tenant": None}, "c360_tenant"),
    ({"c360_tenant": "a{b}"}, "c360_tenant"),
    ({"sub": None}, "MissingRequiredClaim"),
])
async def test_refused_claims(claims, reason):
    with pytest.raises(InvalidToken, match=reason):
        await JwksVerifier(SETTINGS, Issuer(JWK1)).verify(token(**claims))


async def test_clock_skew_within_leeway_is_accepted():
    await JwksVerifier(SETTINGS, Issuer(JWK1)).verify(token(exp=int(time.time()) - 2))


async def test_forged_signature_and_symmetric_confusion_are_refused():
    verifier = JwksVerifier(SETTINGS, Issuer(JWK1))
    with pytest.raises(InvalidToken, match="does not verify"):
        await verifier.verify(token(key=KEY2, kid="k1"))
    hs = jwt.encode({"sub": "x"}, "secret", algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(InvalidToken, match="asymmetric"):
        await verifier.verify(hs)
    with pytest.raises(InvalidToken, match="not a JWT"):
        await verifier.verify("garbage")


async def test_rotation_refetches_once_for_a_new_kid_and_unknown_kids_do_not_hammer():
    issuer = Issuer(JWK1)
    now = [1000.0]
    verifier = JwksVerifier(SETTINGS, issuer, clock=lambda: now[0])
    await verifier.verify(token())
    assert issuer.calls == 1
    issuer.jwks.append(JWK2)
    now[0] += 31
    await verifier.verify(token(key=KEY2, kid="k2"))
    assert issuer.calls == 2
    for _ in range(5):
        with pytest.raises(InvalidToken, match="not in the issuer's JWKS"):
            await verifier.verify(token(kid="nope"))
    assert issuer.calls == 2
