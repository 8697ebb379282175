"""Dead letters keep the original bytes whole up to the message limit, a reference above it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from infra.dlq import (
    DEFAULT_MAX_MESSAGE_BYTES,
    ENVELOPE_HEADROOM,
    MAX_ORIGINAL_BYTES,
    OriginalReference,
    dead_letter_for,
    references,
)
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import DeadLetter
from schemas.topics import DLQ, INTERACTIONS
from streams.bootstrap import build_deps
from streams.processing import StatsBook
from streams.runner import Route, Runner
from streams.settings import StreamSettings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BUDGET = DEFAULT_MAX_MESSAGE_BYTES - ENVELOPE_HEADROOM


def _letter(value: bytes | None, key: bytes | None = b"ix-1", **kw: object) -> DeadLetter:
    args: dict[str, object] = {
        "topic": INTERACTIONS,
        "partition": 3,
        "offset": 77,
        "key": key,
        "value": value,
        "error": SchemaError("bad bytes"),
        "stage": "normalize",
        "now": NOW,
        **kw,
    }
    return dead_letter_for(**args)  # type: ignore[arg-type]


def _wire_size(letter: DeadLetter, key: bytes | None) -> int:
    """What aiokafka's producer checks against max_request_size for this letter."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, codec.encode(letter), []))


@pytest.mark.parametrize("size", [0, 1, 600 * 1024, BUDGET - 8])
def test_originals_within_the_budget_are_kept_whole(size: int) -> None:
    """Up to the budget the bytes are kept byte for byte, including 512 KiB .. ~1 MB
    payloads the old policy cut to 512 KiB."""
    raw = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    letter = _letter(raw)
    assert letter.original_value == raw and letter.original_key == b"ix-1"
    assert letter.error_message == "bad bytes" and references(letter) == []
    assert codec.decode(codec.encode(letter)) == letter


def test_the_budget_is_exact_and_the_key_counts_twice() -> None:
    """len(value) + 2 * len(key) <= max_message_bytes - ENVELOPE_HEADROOM keeps the value."""
    key = b"k" * 10
    assert _letter(b"v" * (BUDGET - 20), key=key).original_value is not None
    assert _letter(b"v" * (BUDGET - 19), key=key).original_value is None
    assert MAX_ORIGINAL_BYTES == BUDGET
    assert _letter(b"v" * BUDGET, key=None).original_value is not None


def test_oversized_originals_become_a_reference_not_a_prefix() -> None:
    """Above the budget: original_value None (so redrive never re-publishes a fragment) and
    error_message says where the bytes are, with length and sha256."""
    raw = b"\xc3\x01" + b"z" * 2_000_000
    letter = _letter(raw)
    assert letter.original_value is None and letter.original_key == b"ix-1"
    sha = hashlib.sha256(raw).hexdigest()
    assert letter.error_message.startswith("bad bytes [original_value not kept: ")
    assert f"{len(raw)} bytes, sha256 {sha}" in letter.error_message
    assert f"the original is at {INTERACTIONS}/3@77]" in letter.error_message
    assert references(letter) == [OriginalReference("value", INTERACTIONS, 3, 77, len(raw), sha)]
    assert references(codec.decode(codec.encode(letter))) == references(letter)


def test_an_absurd_key_is_referenced_too() -> None:
    """A key that alone breaks the budget is referenced like the value."""
    key = b"K" * (BUDGET // 2 + 1)
    letter = _letter(b"small", key=key)
    assert letter.original_key is None and letter.original_value is None
    assert [r.what for r in references(letter)] == ["key", "value"]
    assert references(letter)[0].sha256 == hashlib.sha256(key).hexdigest()


def test_the_limit_is_a_parameter() -> None:
    """max_message_bytes (the producer's/broker's limit) moves the budget."""
    raw = b"r" * 100_000
    assert _letter(raw).original_value == raw
    small = _letter(raw, max_message_bytes=100_000)
    assert small.original_value is None
    assert f"over the {100_000 - ENVELOPE_HEADROOM}-byte dead-letter budget" in (
        small.error_message
    )


@pytest.mark.parametrize("max_bytes", [DEFAULT_MAX_MESSAGE_BYTES, 1_048_576, 200_000])
def test_the_worst_case_letter_fits_the_producer_limit(max_bytes: int) -> None:
    """Value at the budget, a long key, a 2000-character error of 4-byte characters, the
    longest Kafka topic name: the encoded letter still fits max_bytes by aiokafka's own
    estimate, so sending it cannot fail for its size (and be retried forever)."""
    key = b"k" * 1000
    budget = max_bytes - ENVELOPE_HEADROOM
    for value in (b"v" * (budget - 2 * len(key)), b"v" * (budget * 3)):
        letter = dead_letter_for(
            topic="t" * 249,
            partition=2**31 - 1,
            offset=2**62,
            key=key,
            value=value,
            error=SchemaError("\U0001d11e" * 5000),
            stage="s" * 200,
            tenant_id="x" * 64,
            now=NOW,
            max_message_bytes=max_bytes,
        )
        assert _wire_size(letter, key) <= max_bytes


@dataclass
class _Msg:
    value: bytes | None
    key: bytes | None = b"ix-9"
    topic: str = INTERACTIONS
    partition: int = 1
    offset: int = 12


class _Sent:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes]] = []

    async def __call__(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        self.records.extend(records)


async def _dead_letter_of(raw: bytes) -> DeadLetter:
    deps = build_deps(
        StreamSettings.from_env({"C360_ENV": "dev", "C360_MAX_PAYLOAD_BYTES": "3000000"}),
        timeline=InMemoryTimelineStore(),
        parties=InMemoryInteractionParties(),
    )
    sent = _Sent()

    async def never(record: object) -> list[object]:
        raise AssertionError("undecodable bytes reach no handler")

    async def no_sleep(_delay: float) -> None:
        return None

    table = {DeadLetter: (Route("normalize", never),)}  # type: ignore[arg-type]
    await Runner("normalize", table, deps, sent, StatsBook(), sleep=no_sleep).handle(_Msg(raw))
    [(topic, _key, value)] = sent.records
    assert topic == DLQ
    letter = codec.decode(value)
    assert isinstance(letter, DeadLetter)
    return letter


async def test_the_agent_envelope_keeps_a_900_kb_payload_whole() -> None:
    """Through streams.runner: a 900 KB garbage payload is dead-lettered whole."""
    raw = b"\x00garbage" + b"g" * 900_000
    letter = await _dead_letter_of(raw)
    assert letter.original_value == raw and (letter.partition, letter.offset) == (1, 12)


async def test_the_agent_envelope_references_a_2_mb_payload() -> None:
    """Through streams.runner: a 2 MB payload is referenced by hash, not truncated."""
    raw = b"\x00garbage" + b"g" * 2_000_000
    letter = await _dead_letter_of(raw)
    assert letter.original_value is None
    [ref] = references(letter)
    assert (ref.topic, ref.partition, ref.offset, ref.length) == (INTERACTIONS, 1, 12, len(raw))
    assert ref.sha256 == hashlib.sha256(raw).hexdigest()


def test_the_crm_sink_and_the_ingest_edge_use_the_same_builder() -> None:
    """One builder, one id namespace: the CRM sink's letter is dead_letter_for's (with the
    CRM's detail), and it follows the same size rule; an ingest letter keeps a whole
    accepted-size payload."""
    from confluent_kafka import Message  # noqa: PLC0415

    from connectors.crm.errors import CrmRejected  # noqa: PLC0415
    from connectors.crm.sink_handler import STAGE, dead_letter  # noqa: PLC0415
    from connectors.sources.ingest_web import dead_letter as ingest_letter  # noqa: PLC0415

    msg = Message(topic="t", partition=1, offset=9, key=b"k", value=b"v")
    error = CrmRejected("nope", crm="hubspot", status=400, excerpt="BAD_FIELD")
    letter = dead_letter(msg, error, "acme")
    same = dead_letter_for(
        topic="t", partition=1, offset=9, key=b"k", value=b"v", error=error, stage=STAGE
    )
    assert letter.event_id == same.event_id
    assert "HTTP 400" in letter.error_message and "BAD_FIELD" in letter.error_message
    huge = Message(topic="t", partition=1, offset=10, key=None, value=b"x" * (BUDGET + 1))
    assert dead_letter(huge, error).original_value is None
    assert references(dead_letter(huge, error))[0].length == BUDGET + 1
    body = b"y" * 1_048_576
    kept = ingest_letter("genesys", "acme", body, SchemaError("bad"), NOW, len(body))
    assert kept.original_value == body
    assert (kept.topic, kept.partition, kept.offset) == ("http:/v1/ingest/genesys", -1, -1)
