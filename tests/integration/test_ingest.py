"""The ingest webhook behind web.access on a real broker: vendor samples in with their
credentials, canonical events of the credential's tenant on the topic, nothing of others'."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import (
    OPERATIONS,
    Ingest,
    IngestConfig,
    add_routes,
    ingest_producer,
)
from connectors.sources.registry import TRANSLATORS
from connectors.sources.signatures import twilio_signature
from core.rate_limits import RateLimits
from projections.memory_api_keys import InMemoryApiKeys
from projections.memory_rate_limiter import InMemoryRateLimiter
from schemas import codec
from schemas.canonical_json import to_json
from schemas.records import DeadLetter
from schemas.topics import DLQ, INTERACTIONS
from schemas.validation import Limits
from streams.settings import StreamSettings
from tests.factories import voice_call
from tests.unit.ingest.twins import api_key, ingest_app, signed_headers
from tests.unit.sources.samples import http_request, sample_json, sample_path
from web.access import Access, access_middleware
from web.bootstrap import build_ingest, ingest_credentials

pytestmark = pytest.mark.integration

# The vendor samples are from 2017: a receive time near them keeps their durations plausible.
RECEIVED = datetime(2017, 12, 26, 13, 44, tzinfo=UTC)
# tests.factories stamps events at tomorrow 09:00: up to 33 h ahead of the wall clock.
AHEAD = Limits(max_ahead=timedelta(days=3))
TWILIO_AUTH = "twilio-auth-token-for-tests"
SIGNING = "acme-signing-secret-for-tests"
ENV = {
    "C360_INGEST_TOKENS": "acme:tok-acme,beta:tok-beta",
    "C360_TWILIO_AUTH_TOKENS": f"acme:{TWILIO_AUTH}",
    "C360_INGEST_SIGNING_SECRETS": f"acme:{SIGNING}",
}
# Every published sample the translators support as posted (the same list the translator
# robustness tests use), plus Twilio's two captured voice webhooks.
SAMPLES: list[tuple[str, str]] = [
    ("amazon_connect", "amazon_connect_contact_event_connected_to_agent_detail.json"),
    ("amazon_connect", "amazon_connect_contact_event_disconnected.jsonc"),
    ("amazon_connect", "amazon_connect_contact_lens_chat_analysis_original.json"),
    ("twilio", "twilio_conversations_onMessageAdded_1.form"),
    ("twilio", "twilio_taskrouter_sdk_reservation_accepted.json"),
    ("twilio", "twilio_taskrouter_sdk_reservation_created_by_cold_transfer.json"),
    ("twilio", "twilio_taskrouter_sdk_task_wrapup.json"),
    ("twilio", "twilio_voice_incoming_pstn_webhook.http"),
    ("twilio", "twilio_voice_incoming_client_anonymous.http"),
    ("genesys", "genesys_analytics_conversation_detail_query_result.json"),
    ("genesys", "genesys_eventbridge_detail_customer_start_chat.json"),
    ("genesys", "genesys_eventbridge_detail_customer_end_chat.json"),
    ("asterisk", "asterisk_ami_queue_call_events_real.txt"),
    ("freeswitch", "freeswitch_channel_hangup_complete_plain.txt"),
    ("freeswitch", "freeswitch_json_cdr.json"),
]


def sample_body(name: str) -> tuple[bytes, str]:
    """(body as the platform posts it, content type); .jsonc made strict as real payloads."""
    if name.endswith(".http"):
        headers, body = http_request(name)
        return body, headers["content-type"].split(";")[0]
    if name.endswith(".jsonc"):
        return json.dumps(sample_json(name)).encode(), "application/json"
    body = sample_path(name).read_bytes()
    kind = {"json": "application/json", "form": "application/x-www-form-urlencoded"}
    return body, kind.get(name.rsplit(".", 1)[1], "text/plain")


Client = TestClient[Any, Any]


async def _client(app: web.Application) -> Client:
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def keys() -> InMemoryApiKeys:
    """The API key store the webhook's access check reads."""
    return InMemoryApiKeys()


@pytest.fixture
async def webhook(
    kafka_bootstrap: str, topic_prefix: str, keys: InMemoryApiKeys
) -> AsyncIterator[Client]:
    """The ingest route behind web.access (API keys, legacy tokens, signatures) on a real
    KafkaProducer, clock fixed so translation is repeatable."""
    auth = IngestSettings.from_env(ENV)
    config = IngestConfig(
        topic_prefix + INTERACTIONS, topic_prefix + DLQ, 1_048_576, "demo", auth, limits=AHEAD
    )
    publisher = ingest_producer(
        _kafka(kafka_bootstrap), 20, 1_048_576
    )
    app = ingest_app(Ingest(config, publisher, clock=lambda: RECEIVED), auth, keys=keys)
    client = await _client(app)
    yield client
    await client.close()
    await publisher.close()


async def post_sample(client: Client, source: str, name: str, credential: str = "bearer") -> Any:
    """POST a sample the way its platform would, with the tenant's credentials: Twilio's
    signed with the tenant's auth token, the others with `credential` (a bearer token or
    an API key string, or "signed" for X-C360-Signature)."""
    body, ctype = sample_body(name)
    headers = {"Content-Type": ctype}
    path = f"/v1/ingest/{source}?tenant=acme"
    if source == "twilio":
        if ctype == "application/x-www-form-urlencoded":
            params = parse_qsl(body.decode(), keep_blank_values=True)
        else:
            path += f"&bodySHA256={hashlib.sha256(body).hexdigest()}"
            params = []
        url = str(client.make_url(path))
        headers["X-Twilio-Signature"] = twilio_signature(TWILIO_AUTH, url, params)
    elif credential == "signed":
        headers.update(signed_headers(SIGNING, body, "acme"))
    else:
        token = "tok-acme" if credential == "bearer" else credential
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(path, data=body, headers=headers)


async def consume(consume_until: Callable[..., Any], topic: str, want: int) -> list[Any]:
    """Records of `topic` once at least `want` have arrived (off the event loop)."""
    return await asyncio.to_thread(consume_until, topic, lambda seen: len(seen) >= want, 30.0)


@pytest.mark.parametrize("credential", ["bearer", "signed", "api_key"])
async def test_every_vendor_sample_lands_as_canonical_events(
    webhook: Client,
    topic_prefix: str,
    consume_until: Callable[..., Any],
    keys: InMemoryApiKeys,
    credential: str,
) -> None:
    """Each sample, posted with a credential of acme (Twilio's always signed with acme's auth
    token): 202 with its event ids; the topic holds exactly the translator's records for
    acme, keyed by interaction id."""
    if credential == "api_key":
        credential = await api_key(keys, "0123456789abcdef", "acme", "ingest:*")
    expected: dict[str, Any] = {}
    for source, name in SAMPLES:
        resp = await post_sample(webhook, source, name, credential)
        assert resp.status == 202, (name, await resp.text())
        doc = await resp.json()
        body, _ = sample_body(name)
        events = TRANSLATORS[source](body, "acme", RECEIVED)
        assert doc == {"accepted": len(events), "event_ids": [e.event_id for e in events]}, name
        expected.update({e.event_id: e for e in events})
    assert len(expected) > 40  # every vendor contributed (the Genesys file alone gives many)
    got = await consume(consume_until, topic_prefix + INTERACTIONS, len(expected))
    decoded = {}
    for record in got:
        event = codec.decode(record.value)
        assert record.key == event.interaction_id.encode()
        decoded[event.event_id] = event
    assert decoded == expected
    assert {e.source for e in decoded.values()} == set(TRANSLATORS)
    assert {e.tenant_id for e in decoded.values()} == {"acme"}


async def test_no_credential_writes_into_another_tenant(
    webhook: Client, topic_prefix: str, consume_until: Callable[..., Any], keys: InMemoryApiKeys
) -> None:
    """acme's key, token, signature and Twilio signature asking for beta, and beta's records
    under acme's credential: 403/401 and nothing on the topic; then acme's own request is
    the only thing there (the refused ones were never published)."""
    key = await api_key(keys, "fedcba9876543210", "acme", "ingest:*")
    beta = "[" + ",".join(to_json(e) for e in voice_call("ix-beta", tenant="beta")) + "]"
    for auth in (f"Bearer {key}", "Bearer tok-acme"):
        for path in ("/v1/ingest/canonical?tenant=beta", "/v1/ingest/canonical"):
            resp = await webhook.post(path, data=beta, headers={"Authorization": auth})
            assert resp.status == 403, (auth[:12], path)
    signed = await webhook.post(
        "/v1/ingest/canonical", data=beta, headers=signed_headers(SIGNING, beta.encode(), "beta")
    )
    assert signed.status == 401
    body, _ = sample_body("twilio_voice_incoming_pstn_webhook.http")
    path = "/v1/ingest/twilio?tenant=beta"
    params = parse_qsl(body.decode(), keep_blank_values=True)
    sig = twilio_signature(TWILIO_AUTH, str(webhook.make_url(path)), params)
    twilio = await webhook.post(
        path,
        data=body,
        headers={"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert twilio.status == 401
    own = voice_call("ix-acme", tenant="acme")
    ok = await webhook.post(
        "/v1/ingest/canonical",
        data="[" + ",".join(map(to_json, own)) + "]",
        headers={"Authorization": "Bearer tok-acme", "X-C360-Tenant": "acme"},
    )
    assert ok.status == 202
    # Read from offset 0: a refused request published before acme's would come first.
    got = await consume(consume_until, topic_prefix + INTERACTIONS, len(own))
    assert [codec.decode(r.value) for r in got] == own


async def test_a_replayed_signed_request_is_refused(webhook: Client) -> None:
    """X-C360-Signature: accepted once; the same signature and body again is 401."""
    body = "[" + ",".join(to_json(e) for e in voice_call("ix-replay", tenant="acme")) + "]"
    headers = signed_headers(SIGNING, body.encode(), "acme")
    first = await webhook.post("/v1/ingest/canonical", data=body, headers=headers)
    assert first.status == 202
    again = await webhook.post("/v1/ingest/canonical", data=body, headers=headers)
    assert again.status == 401


async def test_redelivered_webhook_yields_the_same_event_ids(webhook: Client) -> None:
    """A platform retrying a webhook gets the same ids, so downstream dedupes it."""
    name = "genesys_eventbridge_detail_customer_start_chat.json"
    first = await (await post_sample(webhook, "genesys", name)).json()
    second = await (await post_sample(webhook, "genesys", name)).json()
    assert first == second and first["accepted"] >= 1


async def test_canonical_json_array(
    webhook: Client, topic_prefix: str, consume_until: Callable[..., Any]
) -> None:
    """Producers that cannot speak Avro post canonical JSON; the topic carries Avro."""
    events = voice_call("ix-canon", tenant="acme")
    body = "[" + ",".join(to_json(e) for e in events) + "]"
    resp = await webhook.post(
        "/v1/ingest/canonical",
        data=body,
        headers={"Authorization": "Bearer tok-acme", "X-C360-Tenant": "acme"},
    )
    assert resp.status == 202
    got = await consume(consume_until, topic_prefix + INTERACTIONS, len(events))
    assert [codec.decode(r.value) for r in got] == events
    assert {r.key for r in got} == {b"ix-canon"}


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("genesys", b"\x00\xffnot json at all"),
        ("canonical", b'{"type": "InteractionEnded", "tenant_id": "acme"}'),
        ("asterisk", b"this is: not\nan AMI message"),
    ],
)
async def test_garbage_is_400_and_its_exact_bytes_reach_the_dlq(
    webhook: Client,
    topic_prefix: str,
    consume_until: Callable[..., Any],
    source: str,
    body: bytes,
) -> None:
    """Malformed payloads are refused with a JSON error and kept, byte for byte, in the DLQ."""
    resp = await webhook.post(
        f"/v1/ingest/{source}?tenant=acme", data=body, headers={"Authorization": "Bearer tok-acme"}
    )
    assert resp.status == 400
    doc = await resp.json()
    assert doc["error"] == "malformed_payload" and doc["detail"]
    [record] = await consume(consume_until, topic_prefix + DLQ, 1)
    letter = codec.decode(record.value)
    assert isinstance(letter, DeadLetter)
    assert letter.original_value == body
    assert letter.event_id == doc["dead_letter_id"]
    assert (letter.topic, letter.partition, letter.offset) == (f"http:/v1/ingest/{source}", -1, -1)
    assert letter.stage == f"ingest:{source}" and letter.tenant_id == "acme"


async def test_bad_twilio_signature_is_401(webhook: Client) -> None:
    """A signature made with another auth token is refused."""
    body, _ = sample_body("twilio_voice_incoming_pstn_webhook.http")
    path = "/v1/ingest/twilio?tenant=acme"
    params = parse_qsl(body.decode(), keep_blank_values=True)
    bad = twilio_signature("not-the-token", str(webhook.make_url(path)), params)
    resp = await webhook.post(
        path,
        data=body,
        headers={"X-Twilio-Signature": bad, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"


def _kafka(bootstrap: str) -> StreamSettings:
    return StreamSettings.from_env({"C360_ENV": "dev", "C360_KAFKA_BOOTSTRAP_SERVERS": bootstrap})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_broker_is_503_never_202() -> None:
    """With no broker the webhook answers 503 once the bounded delivery time is up."""
    auth = IngestSettings.from_env(ENV)
    config = IngestConfig("x." + INTERACTIONS, "x." + DLQ, 1_048_576, "demo", auth, limits=AHEAD)
    publisher = ingest_producer(
        _kafka(f"127.0.0.1:{_closed_port()}"), 1.0, 1_048_576
    )
    app = ingest_app(Ingest(config, publisher), auth)
    client = await _client(app)
    try:
        body = "[" + ",".join(to_json(e) for e in voice_call("ix-down", tenant="acme")) + "]"
        resp = await client.post(
            "/v1/ingest/canonical?tenant=acme",
            data=body,
            headers={"Authorization": "Bearer tok-acme"},
        )
        assert resp.status == 503
        assert resp.headers["Retry-After"]
        assert (await resp.json())["error"] == "broker_unavailable"
    finally:
        await client.close()
        await publisher.close()


async def test_the_composition_root_builds_ingest_and_closes_the_producer(
    kafka_bootstrap: str, topic_prefix: str, consume_until: Callable[..., Any]
) -> None:
    """build_ingest + ingest_credentials + add_routes as web.service wires them: dev mode
    without credentials is open for the default tenant; the closer flushes the producer."""
    settings = StreamSettings.from_env(
        {
            "C360_ENV": "dev",
            "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "C360_TOPIC_PREFIX": topic_prefix,
        }
    )
    ingest, close = build_ingest(settings, {"C360_ENV": "dev"})
    bearers, signed = ingest_credentials(settings, {"C360_ENV": "dev"})
    access = Access(bearers, signed, InMemoryRateLimiter(), RateLimits())
    middleware: Any = access_middleware(access, OPERATIONS)
    app = web.Application(middlewares=[middleware])
    add_routes(app, ingest)
    client = await _client(app)
    try:
        event = voice_call("ix-setup", tenant="demo")[0]
        resp = await client.post("/v1/ingest/canonical", data=to_json(event))
        assert resp.status == 202
        other = await client.post("/v1/ingest/canonical?tenant=acme", data=to_json(event))
        assert other.status == 403  # the open dev stack is the default tenant's only
    finally:
        await client.close()
        await close()
    [record] = await consume(consume_until, topic_prefix + INTERACTIONS, 1)
    assert codec.decode(record.value) == event
