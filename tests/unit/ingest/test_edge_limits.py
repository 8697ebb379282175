"""Edges refuse what they cannot hold: 100k-deep JSON (4xx, never 500), implausible records."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from c360 import publish
from connectors.sources.common import load_json, parse_json
from connectors.sources.errors import SourcePayloadError
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import Ingest, IngestConfig
from infra.kafka_producer import InMemoryPublisher
from schemas import codec, json_limits
from schemas.canonical_json import from_json, to_json
from schemas.errors import PayloadTooLarge, SchemaError
from schemas.json_limits import JsonTooDeep
from schemas.records import DeadLetter, InteractionEnded
from tests.factories import CALLER, voice_call
from tests.unit.ingest.twins import ingest_app

DEEP = 100_000
DEEP_ARRAY = b"[" * DEEP + b"]" * DEEP
DEEP_OBJECT = b'{"a":' * DEEP + b"1" + b"}" * DEEP
NOW = datetime.now(tz=UTC).replace(microsecond=0)
ACME = {"Authorization": "Bearer tok-acme", "X-C360-Tenant": "acme"}
ENDED = voice_call("ix-lim", start=NOW - timedelta(hours=1))[3]
assert isinstance(ENDED, InteractionEnded)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- schemas.json_limits ------------------------------------------------------------------


@pytest.mark.parametrize("data", [DEEP_ARRAY, DEEP_OBJECT, DEEP_ARRAY.decode(), b"[" * DEEP])
def test_100k_deep_json_is_refused_without_recursion_error(data: str | bytes) -> None:
    """Balanced or not, bytes or text: JsonTooDeep (a SchemaError), never RecursionError."""
    with pytest.raises(JsonTooDeep):
        json_limits.loads(data)


def test_depth_limit_is_exact_and_brackets_in_strings_do_not_count() -> None:
    """64 levels parse; 65 do not; '[' inside strings (escaped quotes too) is text."""
    assert json_limits.loads(_nested(64)) is not None
    with pytest.raises(JsonTooDeep):
        json_limits.loads(_nested(65))
    text = json.dumps({"notes": "[" * 1000 + '\\"{' * 500, "list": [[1]]})
    assert json_limits.loads(text)["list"] == [[1]]
    assert json_limits.loads(_nested(3), max_depth=3) == [[[]]]
    with pytest.raises(JsonTooDeep):
        json_limits.loads(_nested(4), max_depth=3)


def test_many_shallow_containers_are_fine() -> None:
    """Width is not depth: 20,000 small objects in one array parse."""
    doc = json_limits.loads(json.dumps([{"a": [1, {"b": 2}]}] * 20_000))
    assert len(doc) == 20_000


def test_size_and_syntax_errors_are_schema_errors() -> None:
    """Over max_bytes: PayloadTooLarge before parsing; invalid JSON or UTF-8: SchemaError."""
    with pytest.raises(PayloadTooLarge):
        json_limits.loads(b"[" + b"1," * 100 + b"1]", max_bytes=100)
    for bad in (b"{nope", b"\xff\xfe{", b""):
        with pytest.raises(SchemaError, match="not JSON"):
            json_limits.loads(bad)


def test_canonical_json_and_codec_refuse_deep_nesting_as_schema_errors() -> None:
    """schemas.canonical_json.from_json and codec.decode: a SchemaError subclass."""
    with pytest.raises(JsonTooDeep):
        from_json(DEEP_OBJECT)
    with pytest.raises(JsonTooDeep):
        codec.decode(b'{"type": "InteractionEnded", "x": ' + DEEP_ARRAY + b"}")


def test_source_translators_refuse_deep_nesting_as_payload_errors() -> None:
    """connectors.sources.common: SourcePayloadError naming the vendor and where."""
    with pytest.raises(SourcePayloadError, match="genesys: payload nests deeper than 64"):
        load_json(DEEP_ARRAY, "genesys")
    with pytest.raises(SourcePayloadError, match="twilio: task attributes nests deeper"):
        parse_json(DEEP_ARRAY.decode(), "twilio", "task attributes")
    with pytest.raises(SourcePayloadError, match=r"genesys: payload is not JSON \(Expecting"):
        load_json(b"{nope", "genesys")


# --- POST /v1/ingest/{source} -------------------------------------------------------------

Make = Callable[..., Any]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """make(limit=...) -> (client, publisher); the clock is only the translation clock."""
    clients: list[TestClient[Any, Any]] = []

    async def build(limit: int = 1_048_576) -> tuple[TestClient[Any, Any], InMemoryPublisher]:
        auth = IngestSettings.from_env({"C360_INGEST_TOKENS": "acme:tok-acme"})
        config = IngestConfig("p.c360.interactions.v1", "p.c360.dlq.v1", limit, "demo", auth)
        publisher = InMemoryPublisher()
        app = ingest_app(
            Ingest(config, publisher, clock=lambda: NOW), auth, client_max_size=limit * 2
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client, publisher

    yield build
    for client in clients:
        await client.close()


def _letter(pub: InMemoryPublisher) -> DeadLetter:
    [message] = pub.messages
    assert message.topic == "p.c360.dlq.v1"
    letter = codec.decode(message.value)
    assert isinstance(letter, DeadLetter)
    return letter


TASK_WITH_DEEP_ATTRIBUTES = json.dumps(
    {"sid": "WT1", "assignment_status": "pending", "attributes": DEEP_ARRAY.decode()}
).encode()


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("canonical", DEEP_ARRAY),
        ("canonical", DEEP_OBJECT),
        ("canonical", b"[" + _nested(70) + b"]"),
        ("genesys", DEEP_OBJECT),
        ("amazon_connect", DEEP_ARRAY),
        ("freeswitch", DEEP_OBJECT),
        ("twilio", DEEP_ARRAY),
        ("twilio", TASK_WITH_DEEP_ATTRIBUTES),  # a JSON string inside the payload
    ],
)
async def test_deeply_nested_json_is_400_and_dead_lettered_never_500(
    make: Make, source: str, body: bytes
) -> None:
    """100k-deep JSON at any source: 400 malformed_payload, the bytes dead-lettered whole,
    nothing on the interactions topic (was: RecursionError as translator_error 500)."""
    client, pub = await make()
    resp = await client.post(f"/v1/ingest/{source}", data=body, headers=ACME)
    assert resp.status == 400, await resp.text()
    doc = await resp.json()
    assert doc["error"] == "malformed_payload" and doc["dead_letter_id"]
    letter = _letter(pub)
    assert letter.original_value == body and letter.stage == f"ingest:{source}"


async def test_oversized_deep_json_is_413(make: Make) -> None:
    """Size is checked first: a body over the limit is 413 whatever its shape."""
    client, pub = await make(limit=100_000)
    resp = await client.post("/v1/ingest/canonical", data=DEEP_ARRAY, headers=ACME)
    assert resp.status == 413 and pub.messages == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": datetime(1, 1, 1, tzinfo=UTC)}, "InteractionEnded.occurred_at"),
        ({"occurred_at": datetime(9999, 1, 1, tzinfo=UTC)}, "InteractionEnded.occurred_at"),
        ({"duration_seconds": -500_000}, "InteractionEnded.duration_seconds"),
        ({"from_address": CALLER * 50}, "InteractionEnded.from_address"),
    ],
)
async def test_implausible_records_are_400_naming_the_field(
    make: Make, change: dict[str, Any], field: str
) -> None:
    """A canonical record outside the plausible range: 400 implausible_value with the field
    and the record's index, dead-lettered, nothing published; the caller is never echoed."""
    client, pub = await make()
    good = voice_call("ix-lim-2", start=NOW - timedelta(hours=2))[0]
    bad = dataclasses.replace(ENDED, **change)
    body = f"[{to_json(good)},{to_json(bad)}]".encode()
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 400
    doc = await resp.json()
    assert doc["error"] == "implausible_value"
    assert (doc["field"], doc["record"]) == (field, 1)
    assert doc["detail"].startswith(f"record 1: {field} ")
    assert CALLER not in json.dumps(doc)
    letter = _letter(pub)  # the only message: the good record was not published either
    assert letter.original_value == body and letter.error_type == "ImplausibleValue"
    assert CALLER not in letter.error_message


def _genesys_start(event_time_ms: int) -> bytes:
    cid = "2f7bf00a-0fc2-4d6a-9b56-92238191433e"
    return json.dumps(
        {
            "detail-type": "v2.detail.events.conversation.{id}.customer.start",
            "detail": {
                "topicName": f"v2.detail.events.conversation.{cid}.customer.start",
                "eventBody": {
                    "eventTime": event_time_ms,
                    "conversationId": cid,
                    "participantId": "p1",
                    "mediaType": "CHAT",
                    "direction": "INBOUND",
                },
            },
        }
    ).encode()


async def test_translated_vendor_records_are_validated_too(make: Make) -> None:
    """A vendor payload whose own time is implausible (Genesys eventTime near the epoch) is
    refused like a canonical record; the same payload at a current time is accepted."""
    client, pub = await make()
    resp = await client.post("/v1/ingest/genesys", data=_genesys_start(1000), headers=ACME)
    assert resp.status == 400
    doc = await resp.json()
    assert (doc["error"], doc["field"]) == ("implausible_value", "InteractionOffered.occurred_at")
    assert [m.topic for m in pub.messages] == ["p.c360.dlq.v1"]
    now_ms = int(NOW.timestamp() * 1000)
    resp = await client.post("/v1/ingest/genesys", data=_genesys_start(now_ms), headers=ACME)
    assert resp.status == 202


async def test_a_plausible_record_is_still_accepted(make: Make) -> None:
    """The check does not refuse ordinary traffic."""
    client, pub = await make()
    body = to_json(ENDED).encode()
    resp = await client.post("/v1/ingest/canonical", data=body, headers=ACME)
    assert resp.status == 202
    assert [m.topic for m in pub.messages] == ["p.c360.interactions.v1"]


# --- c360 publish -------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[Any]]]:
    """What c360 publish would produce (no broker)."""
    calls: list[tuple[str, list[Any]]] = []
    monkeypatch.setattr(publish, "make_producer", lambda bootstrap: object())
    monkeypatch.setattr(publish.reach, "require_kafka", lambda *_a: None)  # no broker here

    def produce_all(producer: object, topic: str, batch: list[Any]) -> int:
        calls.append((topic, batch))
        return len(batch)

    monkeypatch.setattr(publish, "produce_all", produce_all)
    return calls


def _file(tmp_path: Path, *records: Any) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(to_json(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_publish_refuses_year_one_and_publishes_nothing(
    tmp_path: Path, sent: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """`c360 publish` of a 0001-01-01 event: exit 2, the line and field named, no record of
    the file published (it used to be accepted and crash three agents)."""
    bad = dataclasses.replace(ENDED, occurred_at=datetime(1, 1, 1, tzinfo=UTC))
    path = _file(tmp_path, voice_call("ix-ok", start=NOW)[0], bad)
    assert publish.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: InteractionEnded.occurred_at is 0001-01-01T00:00:00Z" in err
    assert "nothing was published" in err and CALLER not in err
    assert sent == []


def test_publish_refuses_negative_durations_and_deep_arrays(
    tmp_path: Path, sent: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A negative duration names its field; a 100k-deep JSON array file is refused whole."""
    path = _file(tmp_path, dataclasses.replace(ENDED, duration_seconds=-500_000))
    assert publish.main([str(path)]) == 2
    assert "InteractionEnded.duration_seconds is -500000 s" in capsys.readouterr().err
    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP_ARRAY)
    assert publish.main([str(deep)]) == 2
    assert "nested deeper than 64" in capsys.readouterr().err
    assert sent == []


def test_publish_sends_plausible_records_and_earliest_is_configurable(
    tmp_path: Path, sent: list[Any]
) -> None:
    """Plausible records go out; --earliest admits an older backfill."""
    old = dataclasses.replace(ENDED, occurred_at=datetime(1995, 3, 1, tzinfo=UTC), started_at=None)
    path = _file(tmp_path, ENDED, old)
    assert publish.main([str(path)]) == 2 and sent == []
    assert publish.main([str(path), "--earliest", "1990-01-01"]) == 0
    [(topic, batch)] = sent
    assert topic == "c360.interactions.v1" and len(batch) == 2
