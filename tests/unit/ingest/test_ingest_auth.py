"""Ingest credentials behind web.access: every kind for its own tenant only, signatures'
window, tampering and replays, Twilio, rate limits, and no secret in the logs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from connectors.crm.webhook_signature import sign
from connectors.sources.ingest_auth import DevOpen, ReplayGuard, ingest_verifiers
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import OPERATIONS, Ingest, IngestConfig
from connectors.sources.signatures import twilio_signature
from core.rate_limits import RateLimit, RateLimits
from infra.kafka_producer import InMemoryPublisher, PublishFailed
from projections.memory_api_keys import InMemoryApiKeys
from schemas import codec
from schemas.canonical_json import to_json
from schemas.validation import Limits
from tests.factories import voice_call
from tests.unit.ingest.twins import api_key, ingest_app, signed_headers

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ACME_SIGNING = "acme-signing-secret-0001"
ACME_SIGNING_NEW = "acme-signing-secret-0002"
BETA_SIGNING = "beta-genesys-signing-secret"
TW_ACME = "tw-acme-auth-token"
TW_BETA = "tw-beta-auth-token"
ENV = {
    "C360_INGEST_TOKENS": "acme:tok-acme-legacy,beta:tok-beta-legacy",
    "C360_INGEST_SIGNING_SECRETS": f"acme:{ACME_SIGNING},acme:{ACME_SIGNING_NEW},"
    f"beta/genesys:{BETA_SIGNING}",
    "C360_TWILIO_AUTH_TOKENS": f"acme:{TW_ACME},beta:{TW_BETA}",
}
SECRETS = (
    "tok-acme-legacy",
    "tok-beta-legacy",
    ACME_SIGNING,
    ACME_SIGNING_NEW,
    BETA_SIGNING,
    TW_ACME,
    TW_BETA,
)
TWILIO_FORM = {
    "CallSid": "CA11",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "From": "+447700900123",
    "To": "+12025550100",
    "AccountSid": "AC1",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
Client = TestClient[Any, Any]
Make = Callable[..., Any]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """make(env=..., limits=..., clock=...) -> (client, publisher, API keys: acme's
    ingest:canonical, beta's ingest:*, acme's ingest:genesys)."""
    clients: list[Client] = []

    async def build(
        env: dict[str, str] | None = None,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.time,
        client_max_size: int = 2_000_000,
    ) -> tuple[Client, InMemoryPublisher, dict[str, str]]:
        auth = IngestSettings.from_env(ENV if env is None else env)
        config = IngestConfig(
            "p.c360.interactions.v1",
            "p.c360.dlq.v1",
            100_000,
            "demo",
            auth,
            Limits(max_ahead=timedelta(days=3)),
        )
        publisher = InMemoryPublisher()
        store = InMemoryApiKeys()
        keys = {
            "acme": await api_key(store, "a" * 16, "acme", "ingest:canonical"),
            "beta": await api_key(store, "b" * 16, "beta", "ingest:*"),
            "acme-genesys": await api_key(store, "c" * 16, "acme", "ingest:genesys"),
        }
        ingest = Ingest(config, publisher, clock=lambda: NOW)
        app = ingest_app(
            ingest, auth, keys=store, limits=limits, clock=clock, client_max_size=client_max_size
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client, publisher, keys

    yield build
    for client in clients:
        await client.close()


def canonical(tenant: str, iid: str = "ix-auth") -> bytes:
    """A JSON array of one call's canonical records of `tenant`."""
    return ("[" + ",".join(to_json(e) for e in voice_call(iid, tenant=tenant)) + "]").encode()


def tenants_of(pub: InMemoryPublisher) -> set[str]:
    """tenant_id of every published interaction record."""
    return {codec.decode(m.value).tenant_id for m in pub.messages if b"dlq" not in m.topic.encode()}


async def post_as(
    client: Client,
    kind: str,
    keys: dict[str, str],
    tenant: str = "acme",
    body: bytes | None = None,
    named: str | None = None,
) -> Any:
    """POST acme's canonical call (or `body`) with `tenant`'s credential of `kind`,
    naming `named` (default: `tenant`)."""
    named = named or tenant
    body = canonical(tenant) if body is None else body
    if kind == "twilio":
        path = f"/v1/ingest/twilio?tenant={named}"
        token = {"acme": TW_ACME, "beta": TW_BETA}[tenant]
        sig = twilio_signature(token, str(client.make_url(path)), TWILIO_FORM)
        return await client.post(
            path, data=urlencode(TWILIO_FORM), headers={**FORM, "X-Twilio-Signature": sig}
        )
    headers = {"X-C360-Tenant": named}
    if kind == "api_key":
        headers["Authorization"] = f"Bearer {keys[tenant]}"
    elif kind == "legacy":
        headers["Authorization"] = f"Bearer tok-{tenant}-legacy"
    else:
        headers = signed_headers(ACME_SIGNING if tenant == "acme" else "x" * 16, body, named)
    return await client.post("/v1/ingest/canonical", data=body, headers=headers)


KINDS = ["api_key", "legacy", "signed", "twilio"]


def test_the_route_declares_its_scope() -> None:
    """web.access checks (and rate-limits) ingest because the Operation names the scope."""
    [operation] = OPERATIONS
    assert operation.scope == "ingest:{source}"


@pytest.mark.parametrize("kind", KINDS)
async def test_every_credential_is_accepted_for_its_own_tenant(make: Make, kind: str) -> None:
    """API key, legacy token, X-C360-Signature, Twilio signature: 202, events of acme."""
    client, pub, keys = await make()
    resp = await post_as(client, kind, keys)
    assert resp.status == 202, await resp.text()
    assert pub.messages and tenants_of(pub) == {"acme"}


@pytest.mark.parametrize("kind", ["api_key", "legacy"])
async def test_a_bearer_credential_naming_another_tenant_is_403(make: Make, kind: str) -> None:
    """acme's key or token asking to write for beta: 403 before anything is read."""
    client, pub, keys = await make()
    resp = await post_as(client, kind, keys, body=canonical("beta"), named="beta")
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    assert pub.messages == []


@pytest.mark.parametrize("kind", ["signed", "twilio"])
async def test_a_signature_naming_another_tenant_is_not_proven(make: Make, kind: str) -> None:
    """A signature made with acme's secret, claiming beta, does not verify against beta's:
    401 (the claim is not proven: nobody can tell acme's from a forger's signature without
    trying every tenant's secret). Nothing is published."""
    client, pub, keys = await make()
    resp = await post_as(client, kind, keys, named="beta")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert pub.messages == []


@pytest.mark.parametrize("kind", ["api_key", "legacy", "signed"])
async def test_a_canonical_record_of_another_tenant_is_403(make: Make, kind: str) -> None:
    """A valid acme credential posting beta's records: TenantMismatch, 403, nothing stored
    (not even a dead letter)."""
    client, pub, keys = await make()
    resp = await post_as(client, kind, keys, body=canonical("beta"))
    assert resp.status == 403 and "another tenant" in (await resp.json())["detail"]
    assert pub.messages == []


async def test_the_events_tenant_is_the_credentials_whatever_else_is_said(make: Make) -> None:
    """No tenant named: acme's credential writes acme (not the default tenant); a signed
    request whose header names beta while the URL names acme: still acme's; a vendor payload
    gets the credential's tenant from the translator's input."""
    client, pub, keys = await make()
    body = canonical("acme", "ix-1")
    resp = await client.post(
        "/v1/ingest/canonical", data=body, headers={"Authorization": "Bearer tok-acme-legacy"}
    )
    assert resp.status == 202
    body2 = canonical("acme", "ix-2")
    headers = {**signed_headers(ACME_SIGNING, body2, "acme"), "X-C360-Tenant": "beta"}
    resp = await client.post("/v1/ingest/canonical?tenant=acme", data=body2, headers=headers)
    assert resp.status == 202, await resp.text()
    genesys = b'{"eventBody": {"conversationId": "c-1"}}'
    resp = await client.post(
        "/v1/ingest/genesys",
        data=genesys,
        headers={"Authorization": f"Bearer {keys['acme-genesys']}"},
    )
    assert resp.status in (202, 400)
    assert tenants_of(pub) == {"acme"}
    for message in pub.messages:
        assert codec.decode(message.value).tenant_id == "acme"


async def test_a_key_without_the_sources_scope_is_403(make: Make) -> None:
    """acme's ingest:genesys key cannot post canonical records; beta's ingest:* can post any."""
    client, pub, keys = await make()
    resp = await client.post(
        "/v1/ingest/canonical",
        data=canonical("acme"),
        headers={"Authorization": f"Bearer {keys['acme-genesys']}"},
    )
    assert resp.status == 403 and pub.messages == []
    resp = await client.post(
        "/v1/ingest/canonical",
        data=canonical("beta"),
        headers={"Authorization": f"Bearer {keys['beta']}"},
    )
    assert resp.status == 202 and tenants_of(pub) == {"beta"}


async def test_a_source_scoped_signing_secret_covers_only_its_source(make: Make) -> None:
    """beta/genesys's secret signs genesys payloads of beta, not canonical ones."""
    client, pub, _ = await make()
    body = canonical("beta")
    resp = await client.post(
        "/v1/ingest/canonical", data=body, headers=signed_headers(BETA_SIGNING, body, "beta")
    )
    assert resp.status == 401 and pub.messages == []
    genesys = b'{"eventBody": {}}'
    resp = await client.post(
        "/v1/ingest/genesys", data=genesys, headers=signed_headers(BETA_SIGNING, genesys, "beta")
    )
    assert resp.status != 401 and resp.status != 403


@pytest.mark.parametrize("skew", [-301, 301, -3600])
async def test_a_timestamp_outside_the_window_is_401(make: Make, skew: int) -> None:
    """Older (or further ahead) than 300 s: refused, whatever the HMAC says."""
    client, pub, _ = await make()
    body = canonical("acme")
    headers = signed_headers(ACME_SIGNING, body, "acme", at=time.time() + skew)
    resp = await client.post("/v1/ingest/canonical", data=body, headers=headers)
    assert resp.status == 401 and "window" in (await resp.json())["message"]
    assert pub.messages == []


@pytest.mark.parametrize("tamper", ["body", "timestamp", "secret", "garbage", "no_v1"])
async def test_a_tampered_request_is_401(make: Make, tamper: str) -> None:
    """One byte of the body, the timestamp, another secret, or a malformed header: 401."""
    client, pub, _ = await make()
    body = canonical("acme")
    headers = signed_headers(ACME_SIGNING, body, "acme")
    sig = headers["X-C360-Signature"]
    if tamper == "body":
        body = body.replace(b"ix-auth", b"ix-autx")
    elif tamper == "timestamp":
        stamp = int(sig.split(",")[0][2:])
        headers["X-C360-Signature"] = sig.replace(f"t={stamp}", f"t={stamp - 1}")
    elif tamper == "secret":
        headers = signed_headers("not-acmes-secret-at-all", body, "acme")
    elif tamper == "garbage":
        headers["X-C360-Signature"] = "nonsense"
    else:
        headers["X-C360-Signature"] = sig.split(",")[0]
    resp = await client.post("/v1/ingest/canonical", data=body, headers=headers)
    assert resp.status == 401
    assert pub.messages == []


async def test_rotation_old_and_new_secret_and_several_v1(make: Make) -> None:
    """Both configured secrets verify; a header carrying v1 of an unknown and a known
    secret verifies (the sender signs with old and new during a rotation)."""
    client, _pub, _ = await make()
    for n, secret in enumerate((ACME_SIGNING, ACME_SIGNING_NEW)):
        body = canonical("acme", f"ix-rot-{n}")
        resp = await client.post(
            "/v1/ingest/canonical", data=body, headers=signed_headers(secret, body, "acme")
        )
        assert resp.status == 202
    body = canonical("acme", "ix-rot-both")
    stamp = int(time.time())
    unknown = sign("a-brand-new-secret-0003", body, stamp).split(",")[1]
    header = sign(ACME_SIGNING_NEW, body, stamp) + "," + unknown
    resp = await client.post(
        "/v1/ingest/canonical",
        data=body,
        headers={"X-C360-Signature": header, "X-C360-Tenant": "acme"},
    )
    assert resp.status == 202


async def test_a_replayed_signed_request_is_refused(make: Make) -> None:
    """The same signature + body within the window is accepted once; a retry after a 503
    (not accepted) is allowed; a re-signed copy (new timestamp) is a new request."""
    client, pub, _ = await make()
    body = canonical("acme")
    headers = signed_headers(ACME_SIGNING, body, "acme")
    pub.fail = PublishFailed("broker down")
    assert (await client.post("/v1/ingest/canonical", data=body, headers=headers)).status == 503
    pub.fail = None
    assert (await client.post("/v1/ingest/canonical", data=body, headers=headers)).status == 202
    replay = await client.post("/v1/ingest/canonical", data=body, headers=headers)
    assert replay.status == 401 and "already accepted" in (await replay.json())["message"]
    fresh = signed_headers(ACME_SIGNING, body, "acme", at=time.time() + 1)
    assert (await client.post("/v1/ingest/canonical", data=body, headers=fresh)).status == 202


def test_the_replay_guard_forgets_after_the_window_and_is_bounded() -> None:
    """Entries end with their window; past capacity the oldest go first."""
    guard = ReplayGuard(capacity=2)
    guard.remember("a", until=100.0, now=0.0)
    assert guard.seen("a", 50.0) and not guard.seen("a", 101.0)
    guard.remember("b", until=200.0, now=0.0)
    guard.remember("c", until=200.0, now=0.0)
    assert not guard.seen("a", 50.0) and guard.seen("b", 50.0) and guard.seen("c", 50.0)
    guard.remember("d", until=300.0, now=250.0)  # b and c have expired: pruned
    assert not guard.seen("b", 150.0) and guard.seen("d", 260.0)


@pytest.mark.parametrize("tamper", ["token", "param", "missing", "tenant"])
async def test_a_bad_twilio_signature_is_401(make: Make, tamper: str) -> None:
    """Another auth token, a changed parameter, no signature, another tenant's URL: 401."""
    client, pub, _ = await make()
    path = "/v1/ingest/twilio?tenant=acme"
    form = dict(TWILIO_FORM)
    token = "not-the-token" if tamper == "token" else TW_ACME
    headers = {
        **FORM,
        "X-Twilio-Signature": twilio_signature(token, str(client.make_url(path)), TWILIO_FORM),
    }
    if tamper == "param":
        form["From"] = "+447700900999"
    elif tamper == "missing":
        del headers["X-Twilio-Signature"]
    elif tamper == "tenant":
        path = "/v1/ingest/twilio?tenant=beta"
    resp = await client.post(path, data=urlencode(form), headers=headers)
    assert resp.status == 401
    assert pub.messages == []


async def test_a_twilio_signature_on_another_source_is_no_credential(make: Make) -> None:
    """X-Twilio-Signature only counts on /v1/ingest/twilio."""
    client, pub, _ = await make()
    path = "/v1/ingest/canonical?tenant=acme"
    sig = twilio_signature(TW_ACME, str(client.make_url(path)), {})
    resp = await client.post(path, data=canonical("acme"), headers={"X-Twilio-Signature": sig})
    assert resp.status == 401 and pub.messages == []


@pytest.mark.parametrize("kind", ["legacy", "signed", "api_key"])
async def test_a_burst_over_the_tenants_limit_is_429(make: Make, kind: str) -> None:
    """acme's credentials may do 2 at once then 1/s: the third request at once is 429 with
    Retry-After, and nothing of it is published; beta (default limit) is unaffected."""
    limits = RateLimits(tenants={"acme": RateLimit(1.0, 2)})
    client, pub, keys = await make(limits=limits)
    statuses = []
    for n in range(3):
        body = canonical("acme", f"ix-burst-{n}")
        resp = await post_as(client, kind, keys, body=body)
        statuses.append(resp.status)
    assert statuses == [202, 202, 429]
    assert int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["error"] == "rate_limited"
    assert {codec.decode(m.value).interaction_id for m in pub.messages} == {
        "ix-burst-0",
        "ix-burst-1",
    }
    beta = await client.post(
        "/v1/ingest/canonical",
        data=canonical("beta"),
        headers={"Authorization": "Bearer tok-beta-legacy"},
    )
    assert beta.status == 202


async def test_a_signed_body_over_the_limit_is_413(make: Make) -> None:
    """The signature check reads the body: over the application's limit it is the usual
    JSON 413, not a 401 or a 500."""
    client, pub, _ = await make(client_max_size=1000)
    body = b"[" + b" " * 2000 + b"]"
    resp = await client.post(
        "/v1/ingest/canonical", data=body, headers=signed_headers(ACME_SIGNING, body, "acme")
    )
    assert resp.status == 413
    assert (await resp.json())["error"] == "payload_too_large"
    assert pub.messages == []


def test_the_open_dev_verifier_exists_only_in_dev_without_credentials() -> None:
    """ingest_verifiers: only the configured kinds; DevOpen only in dev with none."""

    def kinds(env: dict[str, str]) -> list[str]:
        bearers, signed = ingest_verifiers(IngestSettings.from_env(env), "demo")
        return [type(v).__name__ for v in (*bearers, *signed)]

    assert kinds({"C360_ENV": "dev"}) == ["DevOpen"]
    assert kinds({}) == [] and kinds({"C360_ENV": "prod"}) == []
    assert kinds({"C360_ENV": "dev", "C360_INGEST_TOKENS": "acme:t"}) == ["LegacyTokens"]
    assert kinds(ENV) == ["LegacyTokens", "SignedRequests", "TwilioSignatures"]
    assert DevOpen("demo").default_tenant == "demo"


async def test_secrets_never_reach_the_logs(make: Make, caplog: pytest.LogCaptureFixture) -> None:
    """Every credential kind, accepted and refused (stale, tampered, replayed, wrong tenant,
    rate-limited): no secret, token, key or signature in structlog's or logging's output."""
    caplog.set_level(logging.DEBUG)
    limits = RateLimits(tenants={"acme": RateLimit(50.0, 5)})
    with capture_logs() as logs:
        client, _pub, keys = await make(limits=limits)
        presented: list[str] = [*keys.values()]
        for kind in KINDS:
            await post_as(client, kind, keys)
            await post_as(client, kind, keys, named="beta")
        body = canonical("acme", "ix-logs")
        headers = signed_headers(ACME_SIGNING, body, "acme")
        presented.append(headers["X-C360-Signature"].split("v1=")[1])
        for _ in range(2):
            await client.post("/v1/ingest/canonical", data=body, headers=headers)
        stale = signed_headers(ACME_SIGNING, body, "acme", at=time.time() - 999)
        await client.post("/v1/ingest/canonical", data=body, headers=stale)
        await client.post(
            "/v1/ingest/canonical", data=body, headers={"Authorization": "Bearer tok-beta-legacy"}
        )
        for _ in range(8):
            await post_as(client, "legacy", keys)
    text = repr(logs) + caplog.text
    assert {"ingest_accepted", "access_denied"} <= {entry["event"] for entry in logs}
    for secret in (*SECRETS, *presented):
        assert secret not in text
    for key in keys.values():
        assert key.rsplit("_", 1)[1] not in text
