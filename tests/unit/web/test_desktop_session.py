"""POST /v1/desktop/session: an agent's OIDC JWT becomes a desktop token (create_app on twins)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.gateway import auth
from connectors.gateway import web_models as gw
from connectors.gateway.web import add_routes
from infra.http_routes import AccessError
from infra.oidc import JwksVerifier, OidcSettings
from streams.settings import StreamSettings
from tests.web_twins import SECRET, TwinApiKeys, twin_access, twin_deps
from web.app import create_app

Client = TestClient[web.Request, web.Application]
ISSUER, AUDIENCE = "https://idp.test/", "c360"
OIDC = OidcSettings(ISSUER, AUDIENCE, "https://idp.test/jwks")
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1"}
KEYS = TwinApiKeys()


async def issuer_jwks(_url: str) -> dict[str, Any]:
    return {"keys": [JWK]}


def agent_jwt(tenant: str = "acme", sub: str = "agent-7", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "exp": now + 300,
        "c360_tenant": tenant,
        **claims,
    }
    return jwt.encode(body, KEY, algorithm="RS256", headers={"kid": "k1"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def http() -> AsyncIterator[Client]:
    access = twin_access(KEYS, oidc=JwksVerifier(OIDC, issuer_jwks))
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), twin_deps(access=access))
    async with TestClient(TestServer(app)) as client:
        yield client


async def _answer(resp: Any, status: int, model: Any) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    model.model_validate(body)
    return body


async def test_an_agent_jwt_is_exchanged_for_a_desktop_token_the_gateway_takes(
    http: Client,
) -> None:
    """The IdP's JWT passes the access check but not the gateway's own check; exchanged, it
    gives a desktop token of the JWT's tenant and agent with the gateway's TTL."""
    idp = agent_jwt()
    me = await http.get("/v1/desktop/me", headers=bearer(idp))
    assert me.status == 401  # the gap the exchange closes
    before = int(time.time())
    body = await _answer(
        await http.post("/v1/desktop/session", headers=bearer(idp)), 200, gw.DesktopSession
    )
    assert (body["tenant"], body["agent"]) == ("acme", "agent-7")
    who = auth.verify(SECRET, body["token"], time.time())
    assert (who.tenant, who.agent, who.expires_at) == ("acme", "agent-7", body["expires_at"])
    ttl = twin_deps().gateway.settings.token_ttl_seconds
    assert before + ttl <= body["expires_at"] <= int(time.time()) + ttl
    me = await _answer(await http.get("/v1/desktop/me", headers=bearer(body["token"])), 200, gw.Me)
    assert (me["tenant"], me["agent"]) == ("acme", "agent-7")


async def test_api_keys_and_desktop_tokens_are_not_exchanged(http: Client) -> None:
    """An API key with the desktop scope: 403 (sessions are for agents). A desktop token:
    403 (a token must not renew itself). Both in the access check's error shape."""
    key = KEYS.mint("acme", ["desktop"])
    refused = await _answer(
        await http.post("/v1/desktop/session", headers=bearer(key)), 403, AccessError
    )
    assert refused["message"] == "desktop sessions are for agents"
    desktop = auth.issue(SECRET, "acme", "agent-7", time.time(), 600)
    refused = await _answer(
        await http.post("/v1/desktop/session", headers=bearer(desktop)), 403, AccessError
    )
    assert "already a desktop token" in refused["message"]


async def test_the_access_check_comes_first(http: Client) -> None:
    """No credential, a forged JWT: 401; a JWT without the desktop scope, or naming another
    tenant: 403; the IdP's token in the URL: 400 (it would reach proxy logs)."""
    resp = await http.post("/v1/desktop/session")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    forged = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "a",
            "exp": int(time.time()) + 60,
            "c360_tenant": "acme",
        },
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    assert (await http.post("/v1/desktop/session", headers=bearer(forged))).status == 401
    reader = agent_jwt(scope="timeline:read")
    assert (await http.post("/v1/desktop/session", headers=bearer(reader))).status == 403
    other = await http.post(
        "/v1/desktop/session", params={"tenant": "globex"}, headers=bearer(agent_jwt())
    )
    assert other.status == 403
    in_url = await http.post("/v1/desktop/session", params={"token": agent_jwt()})
    await _answer(in_url, 400, gw.GatewayError)


async def test_without_the_access_check_nobody_gets_a_session() -> None:
    """The gateway mounted alone (no verified principal): 401, never a token."""
    app = web.Application()
    add_routes(app, twin_deps().gateway)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/v1/desktop/session", headers=bearer(agent_jwt()))
        assert resp.status == 401
