"""The ingest handler behind web.access over an in-memory publisher: statuses, DLQ letters,
Kafka keys, credentials."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from connectors.sources.errors import SourcePayloadError
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import Ingest, IngestConfig, dead_letter
from connectors.sources.registry import TRANSLATORS
from connectors.sources.signatures import twilio_signature
from infra.kafka_producer import InMemoryPublisher, PublishFailed
from schemas import codec
from schemas.canonical_json import to_json
from schemas.records import DeadLetter, InteractionEvent, ProfileUpserted
from schemas.validation import Limits
from tests.factories import CALLER, voice_call
from tests.unit.ingest.twins import ingest_app

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ENV = {"C360_INGEST_TOKENS": "acme:tok-acme,beta:tok-beta", "C360_TWILIO_AUTH_TOKENS": "acme:tw"}
TWILIO_FORM = {
    "CallSid": "CA11",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "From": "+447700900123",
    "To": "+12025550100",
    "AccountSid": "AC1",
}

Make = Callable[..., Any]
# The factories' events start at T0 = tomorrow 09:00 UTC, up to 33 h ahead of the wall clock
# that ingest validates against (schemas.validation: now + 1 day by default).
FACTORY_LIMITS = Limits(max_ahead=timedelta(days=3))


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """make(env=..., translators=..., limit=...) -> (client, publisher)."""
    clients: list[TestClient[Any, Any]] = []

    async def build(
        env: dict[str, str] | None = None, translators: Any = TRANSLATORS, limit: int = 100_000
    ) -> tuple[TestClient[Any, Any], InMemoryPublisher]:
        auth = IngestSettings.from_env(ENV if env is None else env)
        config = IngestConfig(
            "p.c360.interactions.v1", "p.c360.dlq.v1", limit, "demo", auth, FACTORY_LIMITS
        )
        publisher = InMemoryPublisher()
        ingest = Ingest(config, publisher, translators, clock=lambda: NOW)
        app = ingest_app(ingest, auth, client_max_size=limit * 2)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client, publisher

    yield build
    for client in clients:
        await client.close()


def canonical_body(events: list[InteractionEvent]) -> bytes:
    """A JSON array of canonical records."""
    return ("[" + ",".join(to_json(e) for e in events) + "]").encode()


ACME = {"Authorization": "Bearer tok-acme", "X-C360-Tenant": "acme"}


async def test_canonical_array_is_published_keyed_by_interaction(make: Make) -> None:
    """Every record goes to the interactions topic, key = interaction id, value = Avro."""
    client, pub = await make()
    events = voice_call("ix-1")
    resp = await client.post("/v1/ingest/canonical", data=canonical_body(events), headers=ACME)
    assert resp.status == 202
    assert await resp.json() == {"accepted": 5, "event_ids": [e.event_id for e in events]}
    assert [m.topic for m in pub.messages] == ["p.c360.interactions.v1"] * 5
    assert {m.key for m in pub.messages} == {b"ix-1"}
    assert [codec.decode(m.value) for m in pub.messages] == events


async def test_canonical_single_object(make: Make) -> None:
    """A single JSON object is one record."""
    client, pub = await make()
    event = voice_call("ix-2")[0]
    resp = await client.post("/v1/ingest/canonical", data=to_json(event), headers=ACME)
    assert resp.status == 202 and (await resp.json())["accepted"] == 1
    assert codec.decode(pub.messages[0].value) == event


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b"[1]", b'{"type": "Nope"}', b'{"type": "InteractionEnded"}'],
)
async def test_garbage_is_400_and_dead_lettered_with_the_exact_bytes(
    make: Make, body: bytes
) -> None:
    """Malformed canonical payloads: 400, nothing on the interactions topic, one DLQ letter."""
    client, pub = await make()
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 400
    doc = await resp.json()
    assert doc["error"] == "malformed_payload" and doc["detail"]
    [message] = pub.messages
    assert message.topic == "p.c360.dlq.v1"
    letter = codec.decode(message.value)
    assert isinstance(letter, DeadLetter)
    assert letter.original_value == body
    assert (letter.topic, letter.partition, letter.offset) == ("http:/v1/ingest/canonical", -1, -1)
    assert letter.stage == "ingest:canonical" and letter.tenant_id == "acme"
    assert letter.event_id == doc["dead_letter_id"]
    assert letter.occurred_at == NOW


async def test_one_bad_record_rejects_the_whole_batch(make: Make) -> None:
    """All or nothing: a bad record in an array publishes none of the good ones."""
    client, pub = await make()
    good = to_json(voice_call("ix-3")[0])
    body = f'[{good}, {{"type": "InteractionEnded"}}]'.encode()
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 400 and "record 1" in (await resp.json())["detail"]
    assert [m.topic for m in pub.messages] == ["p.c360.dlq.v1"]


async def test_records_that_are_not_interaction_events_are_rejected(make: Make) -> None:
    """Only Interaction* records belong on the interactions topic."""
    client, _pub = await make()
    profile = ProfileUpserted("e1", "acme", NOW, "p1")
    resp = await client.post("/v1/ingest/canonical", data=to_json(profile), headers=ACME)
    assert resp.status == 400 and "not an interaction event" in (await resp.json())["detail"]


async def test_records_of_another_tenant_are_forbidden(make: Make) -> None:
    """A token for acme cannot publish beta's events; nothing is published or dead-lettered."""
    client, pub = await make()
    body = canonical_body(voice_call("ix-4", tenant="beta"))
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 403
    assert pub.messages == []


async def test_same_bad_bytes_get_the_same_dead_letter_id() -> None:
    """A vendor retrying a bad payload produces one dead-letter id, not many."""
    err = SourcePayloadError("x")
    a = dead_letter("genesys", "acme", b"bad", err, NOW)
    b = dead_letter("genesys", "acme", b"bad", err, NOW)
    assert a.event_id == b.event_id
    assert a.event_id != dead_letter("genesys", "beta", b"bad", err, NOW).event_id


async def test_unknown_source_is_404_with_the_list(make: Make) -> None:
    """404 names every accepted source."""
    client, _ = await make()
    resp = await client.post("/v1/ingest/avaya", data=b"{}", headers=ACME)
    assert resp.status == 404
    assert set((await resp.json())["sources"]) == {*TRANSLATORS, "canonical"}


async def test_oversized_payload_is_413_and_not_dead_lettered(make: Make) -> None:
    """Over max_payload_bytes: 413 before anything else happens."""
    client, pub = await make(limit=100)
    resp = await client.post("/v1/ingest/canonical", data=b"x" * 101, headers=ACME)
    assert resp.status == 413
    assert pub.messages == []


async def test_naming_a_tenant_that_is_not_the_credentials_is_403(make: Make) -> None:
    """The tenant comes from the credential: naming any other one (even a malformed id) is
    refused before anything is read or written."""
    client, pub = await make()
    resp = await client.post(
        "/v1/ingest/canonical",
        data=b"{}",
        headers={"Authorization": "Bearer tok-acme", "X-C360-Tenant": "a{b}"},
    )
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    assert pub.messages == []


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-C360-Tenant": "acme"}, 401),
        ({"X-C360-Tenant": "acme", "Authorization": "Bearer wrong"}, 401),
        ({"X-C360-Tenant": "acme", "Authorization": "Basic dG9rLWFjbWU="}, 401),
        ({"X-C360-Tenant": "acme", "Authorization": "Bearer tok-beta"}, 403),
    ],
)
async def test_bad_credentials(make: Make, headers: dict[str, str], status: int) -> None:
    """401 (with WWW-Authenticate) for missing/unknown tokens, 403 for another tenant's."""
    client, pub = await make()
    resp = await client.post("/v1/ingest/canonical", data=b"garbage", headers=headers)
    assert resp.status == status
    if status == 401:
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert pub.messages == []  # unauthenticated bytes never reach the DLQ


async def test_dev_without_credentials_is_open_for_the_default_tenant_only(make: Make) -> None:
    """C360_ENV=dev with no ingest credential: no credential needed, the principal is the
    default tenant's (naming it is fine, naming another one is 403)."""
    client, pub = await make(env={"C360_ENV": "dev"})
    demo = canonical_body(voice_call("ix-6", tenant="demo"))
    assert (await client.post("/v1/ingest/canonical", data=demo)).status == 202
    assert (await client.post("/v1/ingest/canonical?tenant=demo", data=demo)).status == 202
    acme = canonical_body(voice_call("ix-5", tenant="acme"))
    assert (await client.post("/v1/ingest/canonical?tenant=acme", data=acme)).status == 403
    assert (await client.post("/v1/ingest/canonical", data=acme)).status == 403  # mismatch
    assert len(pub.messages) == 10


async def test_outside_dev_nothing_is_open(make: Make) -> None:
    """Outside dev, no credential configured means nobody may ingest."""
    client, pub = await make(env={})
    demo = canonical_body(voice_call("ix-6", tenant="demo"))
    resp = await client.post("/v1/ingest/canonical", data=demo)
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert pub.messages == []


async def test_broker_unavailable_is_503_never_202(make: Make) -> None:
    """No ack, no 202: the sender is told to retry."""
    client, pub = await make()
    pub.fail = PublishFailed("all brokers down")
    body = canonical_body(voice_call("ix-7"))
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 503 and resp.headers["Retry-After"]
    bad = await client.post("/v1/ingest/canonical", data=b"bad", headers=ACME)
    assert bad.status == 503  # the dead letter could not be stored either: keep the bytes


async def test_broker_refusing_the_size_is_413(make: Make) -> None:
    """A record the broker refuses for its size is 413, not a retryable 503."""
    client, pub = await make()
    pub.fail = PublishFailed("too big", too_large=True)
    resp = await client.post("/v1/ingest/canonical", data=b"bad", headers=ACME)
    assert resp.status == 413


async def test_translator_crash_is_500_and_dead_lettered(make: Make) -> None:
    """A bug in a translator keeps the bytes (DLQ) and answers 500."""

    def broken(body: bytes, tenant: str, received_at: datetime) -> list[InteractionEvent]:
        raise KeyError("surprise")

    client, pub = await make(translators={"genesys": broken})
    resp = await client.post("/v1/ingest/genesys", data=b"{}", headers=ACME)
    assert resp.status == 500
    letter = codec.decode(pub.messages[0].value)
    assert letter.error_type == "KeyError" and letter.original_value == b"{}"


async def test_payload_without_lifecycle_facts_is_accepted_empty(make: Make) -> None:
    """Vendor events that carry no lifecycle fact are acknowledged with 0 events."""
    client, pub = await make(translators={"genesys": lambda *_: []})
    resp = await client.post("/v1/ingest/genesys", data=b"{}", headers=ACME)
    assert resp.status == 202 and await resp.json() == {"accepted": 0, "event_ids": []}
    assert pub.messages == []


def _signed(client: TestClient[Any, Any], path: str, form: dict[str, str], token: str) -> str:
    url = str(client.make_url(path))
    return twilio_signature(token, url, form)


async def test_twilio_form_with_a_valid_signature(make: Make) -> None:
    """Twilio posts the form with ?tenant=; the signature over URL + params admits it."""
    client, pub = await make()
    path = "/v1/ingest/twilio?tenant=acme"
    sig = _signed(client, path, TWILIO_FORM, "tw")
    resp = await client.post(
        path,
        data=urlencode(TWILIO_FORM),
        headers={"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 202, await resp.text()
    [event] = [codec.decode(m.value) for m in pub.messages]
    assert event.interaction_id == "CA11" and event.tenant_id == "acme"


@pytest.mark.parametrize("tamper", ["signature", "param", "missing"])
async def test_twilio_bad_signature_is_401(make: Make, tamper: str) -> None:
    """A wrong, stale or absent signature is 401 and nothing is published."""
    client, pub = await make()
    path = "/v1/ingest/twilio?tenant=acme"
    sig = _signed(client, path, TWILIO_FORM, "tw")
    form = dict(TWILIO_FORM)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    if tamper == "signature":
        headers["X-Twilio-Signature"] = _signed(client, path, TWILIO_FORM, "other-token")
    elif tamper == "param":
        form["From"] = "+447700900999"
    else:
        del headers["X-Twilio-Signature"]
    resp = await client.post(path, data=urlencode(form), headers=headers)
    assert resp.status == 401
    assert pub.messages == []


async def test_twilio_json_body_signed_with_body_sha256(make: Make) -> None:
    """JSON posts are signed over the URL carrying bodySHA256 of the exact body."""
    client, _pub = await make()
    body = json.dumps({"sid": "WR1", "reservation_status": "pending"}).encode()
    path = f"/v1/ingest/twilio?tenant=acme&bodySHA256={hashlib.sha256(body).hexdigest()}"
    sig = _signed(client, path, {}, "tw")
    resp = await client.post(
        path, data=body, headers={"X-Twilio-Signature": sig, "Content-Type": "application/json"}
    )
    # The signature passed; the payload itself is no TaskRouter object: 400 + DLQ.
    assert resp.status == 400
    tampered = await client.post(
        path,
        data=body + b" ",
        headers={"X-Twilio-Signature": sig, "Content-Type": "application/json"},
    )
    assert tampered.status == 401


async def test_twilio_behind_a_proxy_uses_forwarded_proto(make: Make) -> None:
    """Twilio signed https://host/...; the app sees http: X-Forwarded-Proto reconciles."""
    client, _pub = await make()
    path = "/v1/ingest/twilio?tenant=acme"
    public = str(client.make_url(path)).replace("http://", "https://")
    sig = twilio_signature("tw", public, TWILIO_FORM)
    resp = await client.post(
        path,
        data=urlencode(TWILIO_FORM),
        headers={
            "X-Twilio-Signature": sig,
            "X-Forwarded-Proto": "https",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert resp.status == 202


async def test_twilio_public_base_url(make: Make) -> None:
    """C360_INGEST_PUBLIC_URL names the URL Twilio called (path and query appended)."""
    client, _pub = await make(env={**ENV, "C360_INGEST_PUBLIC_URL": "https://hooks.example.com"})
    path = "/v1/ingest/twilio?tenant=acme"
    sig = twilio_signature("tw", "https://hooks.example.com" + path, TWILIO_FORM)
    resp = await client.post(
        path,
        data=urlencode(TWILIO_FORM),
        headers={"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 202


async def test_logs_carry_no_identifiers_or_secrets(make: Make) -> None:
    """Caller numbers and tokens never appear in the handler's logs."""
    client, _ = await make()
    with capture_logs() as logs:
        await client.post(
            "/v1/ingest/canonical", data=canonical_body(voice_call("ix-8")), headers=ACME
        )
        await client.post("/v1/ingest/canonical", data=f'{{"x": "{CALLER}"}}', headers=ACME)
        await client.post(
            "/v1/ingest/canonical",
            data=b"{}",
            headers={"Authorization": "Bearer tok-beta", "X-C360-Tenant": "acme"},
        )
    text = repr(logs)
    assert {"ingest_accepted", "ingest_dead_lettered", "access_denied"} <= {
        entry["event"] for entry in logs
    }
    assert CALLER not in text and CALLER[1:] not in text and "tok-" not in text
