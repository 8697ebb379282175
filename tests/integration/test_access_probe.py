"""Every route of the served OpenAPI document probed with every kind of bad credential, on
the real Redis (key records, rate budgets) and a JWKS served by a local HTTP server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from c360.keys import new_key
from connectors.gateway import auth
from core.access import KNOWN_SCOPES
from core.rate_limits import RateLimit, RateLimits
from infra.oidc import JwksVerifier, OidcSettings, aiohttp_fetch
from infra.settings_access import AGENT_SCOPES
from projections.keys import Keys
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import InMemoryInteractionLinks, InMemoryProfileDirectory
from projections.reads import ReadModel
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client
from projections.redis_rate_limiter import RedisRateLimiter
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, voice_call
from tests.web_twins import SECRET, tokenize, twin_deps
from web.access import Access
from web.app import ALL_OPERATIONS, create_app
from web.credentials import ApiKeyVerifier, DesktopTokenVerifier, OidcVerifier
from web.read_api import ReadApi
from web.read_routes import QueryApi

pytestmark = pytest.mark.integration
A, B, SLOW = "tenant-a", "tenant-b", "slow"
B_SECRET_ID = "ix-of-tenant-b"  # an interaction only tenant B has: never in A's answers
ISSUER, AUDIENCE = "https://idp.probe.test/", "c360-probe"
DAY = 86_400_000
# Plausible values for path parameters (any value: the check comes before the handler).
PATH_VALUES = {
    "profile_id": "pat-1",
    "interaction_id": B_SECRET_ID,
    "filename": "panel.js",
    "source": "canonical",
    "crm": "hubspot",
}


def _keypair(kid: str) -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


TRUSTED, TRUSTED_JWK = _keypair("k1")
UNTRUSTED, _ = _keypair("k1")  # same key id, another key: a forged agent token


def agent_jwt(tenant: str, key: Any = TRUSTED, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-7",
        "iat": now,
        "exp": now + 300,
        "c360_tenant": tenant,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


@dataclass
class Served:
    http: TestClient[web.Request, web.Application]
    store: RedisApiKeys
    doc: dict[str, Any]

    async def key(self, tenant: str, scopes: list[str], ttl_ms: int = DAY) -> str:
        record, presented = new_key(tenant, scopes, "probe", ttl_ms, "test")
        await self.store.put(record)
        return presented


@pytest.fixture
async def served(redis_url: str, redis_namespace: str) -> AsyncIterator[Served]:
    """create_app with the access check on Redis, agent JWTs against a JWKS served over
    HTTP, and tenant B's history in the read model."""
    jwks_app = web.Application()

    async def jwks(_request: web.Request) -> web.Response:
        return web.json_response({"keys": [TRUSTED_JWK]})

    jwks_app.router.add_get("/jwks", jwks)
    client = redis_client(redis_url)
    keys = Keys(redis_namespace)
    async with TestServer(jwks_app) as issuer:
        oidc = OidcSettings(
            ISSUER, AUDIENCE, str(issuer.make_url("/jwks")), default_scopes=AGENT_SCOPES
        )
        store = RedisApiKeys(client, keys)
        access = Access(
            (
                ApiKeyVerifier(store),
                DesktopTokenVerifier(SECRET),
                OidcVerifier(JwksVerifier(oidc, aiohttp_fetch())),
            ),
            (),
            RedisRateLimiter(client, keys),
            RateLimits(RateLimit(1000.0, 1000), {SLOW: RateLimit(0.5, 2)}),
        )
        timeline = InMemoryTimelineStore()
        now = int(time.time() * 1000)
        for tenant, iid in ((A, "ix-of-tenant-a"), (B, B_SECRET_ID)):
            for event in voice_call(iid, tenant=tenant, start=T0):
                await timeline.apply(tenant, tokenize(tenant, CALLER).token, event, now)
        read = ReadModel(
            timeline,
            profiles=InMemoryProfileDirectory(),
            links=InMemoryInteractionLinks(),
            parties=InMemoryInteractionParties(),
        )
        query = QueryApi(read, ReadApi(tokenize, lambda: now, A))
        app = create_app(
            StreamSettings.from_env({"C360_ENV": "dev"}), twin_deps(query, access=access)
        )
        async with TestClient(TestServer(app)) as http:
            doc = await (await http.get("/openapi.json")).json()
            yield Served(http, store, doc)
    await client.aclose()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every operation the document lists."""
    return [(m.upper(), p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def scope_of(path: str, op: dict[str, Any]) -> str | None:
    scope = op.get("x-c360-scope")
    if scope is None:
        return None
    return str(scope).format_map(PATH_VALUES)  # ingest:{source} -> ingest:canonical


async def call(
    served: Served,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    **params: str,
) -> tuple[int, dict[str, str], str]:
    resp = await served.http.request(
        method,
        concrete(path),
        params={"identifier": CALLER, **params},
        headers=headers or {},
        data=b"{}" if method == "POST" else None,
        allow_redirects=False,
    )
    # A stream that was let in would not end: its status is the answer (never with these).
    text = "" if resp.content_type == "text/event-stream" else await resp.text()
    resp.close()
    return resp.status, dict(resp.headers), text


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_probe_covers_every_operation_of_the_served_document(served: Served) -> None:
    """The probe takes its routes from /openapi.json: exactly the operations served, so a
    new route is probed as soon as it is declared; the read, desktop and metrics routes
    have scopes, the probes and the panel do not."""
    ops = operations(served.doc)
    assert len(ops) == len(ALL_OPERATIONS)
    assert {(m, p) for m, p, _ in ops} == {op.key for op in ALL_OPERATIONS}
    scoped = {(m, p): op["x-c360-scope"] for m, p, op in ops if "x-c360-scope" in op}
    assert {
        ("GET", "/v1/timeline"): "timeline:read",
        ("GET", "/v1/profiles/{profile_id}/timeline"): "timeline:read",
        ("GET", "/v1/insights"): "timeline:read",
        ("GET", "/v1/journey"): "timeline:read",
        ("GET", "/v1/interactions/{interaction_id}"): "timeline:read",
        ("GET", "/metrics"): "metrics",
        ("GET", "/v1/desktop/me"): "desktop",
        ("GET", "/v1/desktop/stream"): "desktop",
        ("POST", "/v1/desktop/actions"): "desktop",
        ("POST", "/v1/desktop/session"): "desktop",
    }.items() <= scoped.items()
    public = {(m, p) for m, p, op in ops if "x-c360-scope" not in op}
    assert {("GET", "/health"), ("GET", "/ready"), ("GET", "/openapi.json")} <= public
    for m, p, op in ops:
        if "x-c360-scope" in op:
            assert {"bearer": []} in op["security"], (m, p)
            assert {"401", "403", "429"} <= set(op["responses"]), (m, p)
    assert served.doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_public_routes_answer_without_credentials(served: Served) -> None:
    """Health, readiness, the document, the panel, its assets, the dev sign-in and the CRM
    OAuth callback (its signed single-use state is the credential: a 400 page without)."""
    for method, path, op in operations(served.doc):
        if "x-c360-scope" in op:
            continue
        status, _, _ = await call(served, method, path)
        assert status not in (401, 403, 429), (method, path, status)
        assert status < 500, (method, path, status)


async def test_every_scoped_route_refuses_every_bad_credential(served: Served) -> None:
    """No credential, garbage, forged, expired, revoked, another secret's desktop token, an
    untrusted agent JWT: 401 with the challenge. A credential of tenant A naming tenant B,
    in the query or the header: 403 with none of B's data. A credential without the
    route's scope: 403."""
    expired = await served.key(A, list(KNOWN_SCOPES), ttl_ms=-1)
    revoked = await served.key(A, list(KNOWN_SCOPES))
    await served.store.revoke(revoked.split("_")[1], int(time.time() * 1000))
    real = await served.key(A, list(KNOWN_SCOPES))
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    unknown = "c360k_0123456789abcdef_" + "x" * 43
    other_secret = auth.issue(b"another-secret-0123456789", A, "agent-1", time.time(), 600)
    bad = {
        "none": {},
        "garbage bearer": bearer("garbage"),
        "not bearer": {"Authorization": f"Basic {real}"},
        "expired key": bearer(expired),
        "revoked key": bearer(revoked),
        "forged key": bearer(forged),
        "unknown key": bearer(unknown),
        "desktop token of another secret": bearer(other_secret),
        "agent JWT of an untrusted key": bearer(agent_jwt(A, key=UNTRUSTED)),
        "agent JWT of another audience": bearer(agent_jwt(A, aud="someone-else")),
    }
    probed = 0
    for method, path, op in operations(served.doc):
        scope = scope_of(path, op)
        if scope is None:
            continue
        probed += 1
        for what, headers in bad.items():
            status, got, text = await call(served, method, path, headers)
            assert status == 401, (method, path, what, status, text)
            assert got["WWW-Authenticate"].startswith("Bearer"), (method, path, what)
            assert B_SECRET_ID not in text
        # Tenant A's credential with the scope, asking for tenant B: 403, nothing of B.
        key_a = await served.key(A, [scope])
        desktop_a = auth.issue(SECRET, A, "agent-1", time.time(), 600)
        for credential in (key_a, desktop_a, agent_jwt(A)):
            for named in ({"params": {"tenant": B}}, {"headers": {"X-C360-Tenant": B}}):
                headers = {**bearer(credential), **named.get("headers", {})}
                status, _, text = await call(
                    served, method, path, headers, **named.get("params", {})
                )
                assert status == 403, (method, path, named, status, text)
                assert B_SECRET_ID not in text
        # A credential of the right tenant without the route's scope.
        lacking = [s for s in ("timeline:read", "metrics", "admin") if s != scope][:1]
        status, _, text = await call(served, method, path, bearer(await served.key(A, lacking)))
        assert status == 403, (method, path, lacking, status, text)
    scoped = [op for _, _, op in operations(served.doc) if "x-c360-scope" in op]
    assert probed == len(scoped) >= 10


async def test_a_credential_reads_its_own_tenant_only(served: Served) -> None:
    """An API key, a desktop token and an agent JWT of tenant A read A's timeline (never
    B's, whatever the request names)."""
    for credential in (
        await served.key(A, ["timeline:read"]),
        auth.issue(SECRET, A, "agent-1", time.time(), 600),
        agent_jwt(A),
    ):
        resp = await served.http.get(
            "/v1/timeline", params={"identifier": CALLER}, headers=bearer(credential)
        )
        body = await resp.json()
        assert resp.status == 200, body
        assert body["tenant"] == A
        assert [i["interaction_id"] for i in body["items"]] == ["ix-of-tenant-a"]


async def test_an_agent_jwt_reads_its_tenants_timeline_and_not_anothers(served: Served) -> None:
    """OIDC: a JWT of tenant B (signed by the issuer's key from its JWKS over HTTP) reads B's
    history; the same agent asking for tenant A is 403."""
    token = bearer(agent_jwt(B))
    resp = await served.http.get("/v1/timeline", params={"identifier": CALLER}, headers=token)
    assert resp.status == 200
    assert [i["interaction_id"] for i in (await resp.json())["items"]] == [B_SECRET_ID]
    resp = await served.http.get(
        "/v1/timeline", params={"identifier": CALLER, "tenant": A}, headers=token
    )
    assert resp.status == 403


async def test_an_agent_jwt_is_exchanged_for_a_desktop_session(served: Served) -> None:
    """SSO: the issuer's JWT (verified over HTTP) becomes a desktop token of its tenant and
    agent that the gateway itself accepts; an API key with the desktop scope gets 403."""
    resp = await served.http.post("/v1/desktop/session", headers=bearer(agent_jwt(B)))
    body = await resp.json()
    assert resp.status == 200, body
    assert (body["tenant"], body["agent"]) == (B, "agent-7")
    me = await served.http.get("/v1/desktop/me", headers=bearer(body["token"]))
    assert me.status == 200
    assert (await me.json())["agent"] == "agent-7"
    key = await served.key(A, ["desktop"])
    resp = await served.http.post("/v1/desktop/session", headers=bearer(key))
    assert resp.status == 403
    assert (await resp.json())["message"] == "desktop sessions are for agents"


async def test_a_key_over_its_tenants_rate_gets_429_and_other_keys_do_not(served: Served) -> None:
    """Tenant `slow` allows a burst of 2 at 0.5/s per credential: a key's third request is
    429 with Retry-After; another key of the same tenant, and a key of another tenant, are
    still served."""
    first, second = (
        await served.key(SLOW, ["timeline:read"]),
        await served.key(SLOW, ["timeline:read"]),
    )
    other = await served.key(A, ["timeline:read"])
    statuses = []
    for _ in range(3):
        resp = await served.http.get(
            "/v1/timeline", params={"identifier": CALLER}, headers=bearer(first)
        )
        statuses.append(resp.status)
        last = resp
    assert statuses == [200, 200, 429]
    assert int(last.headers["Retry-After"]) >= 1
    assert (await last.json())["error"] == "rate_limited"
    for credential in (second, other):
        resp = await served.http.get(
            "/v1/timeline", params={"identifier": CALLER}, headers=bearer(credential)
        )
        assert resp.status == 200
