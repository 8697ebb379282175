"""The agent runner: DLQ for data errors, retry in place for outages, no PII in logs, routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from core.errors import StoreUnavailable
from core.timeline import to_ms
from infra.dlq import DEFAULT_MAX_MESSAGE_BYTES, references
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from schemas import codec
from schemas.confluent import RegistryUnavailable
from schemas.records import (
    INTERACTION_EVENT_TYPES,
    DeadLetter,
    DesktopActionTaken,
    PartyInteraction,
)
from schemas.topics import ACTIVITIES_REQUESTED, DESKTOP, DLQ, INTERACTIONS, INTERACTIONS_BY_PARTY
from streams.agents import routes
from streams.bootstrap import build_deps
from streams.handlers import Outgoing, customer_address, party_for, rekeyed
from streams.processing import OutputUnavailable, StatsBook
from streams.runner import Route, Runner
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, eid, voice_call


@dataclass
class Msg:
    value: bytes | None
    key: bytes | None = b"k"
    topic: str = INTERACTIONS
    partition: int = 2
    offset: int = 41


class Sent:
    def __init__(self):
        self.records: list[tuple[str, bytes | None, bytes]] = []

    async def __call__(self, records):
        self.records.extend(records)


def _deps(**env):
    return build_deps(
        StreamSettings.from_env({"C360_ENV": "dev", **env}),
        timeline=InMemoryTimelineStore(),
        parties=InMemoryInteractionParties(),
        clock_ms=lambda: to_ms(T0 + timedelta(hours=1)),
    )


async def _no_sleep(_delay):
    return None


def _table(handle):
    """Every canonical event type routed to `handle` (the stage is "normalize")."""
    return {t: (Route("normalize", handle),) for t in INTERACTION_EVENT_TYPES}


async def _run(msg, handle, deps=None, table=None):
    deps = deps or _deps()
    sent, stats = Sent(), StatsBook()
    runner = Runner("normalize", table or _table(handle), deps, sent, stats, sleep=_no_sleep)
    await runner.handle(msg)
    return sent, stats.of("normalize")


def _normalize(deps):
    """Re-key an event by its party (a handler that raises InvalidIdentifier on garbage)."""

    async def handle(record):
        return [rekeyed(party_for(record, customer_address(record), deps.settings), record)]

    return handle


async def test_a_good_event_is_sent_on_rekeyed():
    """A valid canonical event comes out on the by-party topic."""
    deps = _deps()
    event = voice_call("ix-1")[0]
    sent, stats = await _run(Msg(codec.encode(event)), _normalize(deps), deps)
    assert [t for t, _, _ in sent.records] == [INTERACTIONS_BY_PARTY]
    assert isinstance(codec.decode(sent.records[0][2]), PartyInteraction)
    assert stats.processed == 1


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x01garbage", b"\xc3\x01" + b"\xff" * 8 + b"body", b"{not json", b"x" * 2_000_000],
    ids=["empty", "garbage", "unknown-fingerprint", "bad-json", "oversized"],
)
async def test_undecodable_bytes_are_dead_lettered_with_the_original_bytes(raw):
    """Malformed, unknown-schema and oversized payloads land in the DLQ, byte for byte."""
    sent, stats = await _run(Msg(raw), lambda r: _unreachable())
    assert [t for t, _, _ in sent.records] == [DLQ]
    letter = codec.decode(sent.records[0][2])
    assert isinstance(letter, DeadLetter)
    if len(raw) < DEFAULT_MAX_MESSAGE_BYTES // 2:
        assert letter.original_value == raw
    else:  # too big for a Kafka record: no cut bytes, a reference to the whole payload
        assert letter.original_value is None
        [ref] = references(letter)
        assert ref.length == len(raw)
        assert (ref.topic, ref.partition, ref.offset) == (INTERACTIONS, 2, 41)
    assert (letter.topic, letter.partition, letter.offset) == (INTERACTIONS, 2, 41)
    assert letter.error_type
    assert stats.dead_lettered == 1


async def _unreachable():
    raise AssertionError("handler must not run for undecodable input")


async def test_a_record_of_the_wrong_type_is_dead_lettered():
    """A PartyInteraction published on the interactions topic is rejected, not crashed on."""
    deps = _deps()
    [record] = await _normalize(deps)(voice_call("ix-1")[0])
    sent, stats = await _run(Msg(codec.encode(record.value)), _normalize(deps), deps)
    assert [t for t, _, _ in sent.records] == [DLQ]
    assert stats.dead_lettered == 1


async def test_store_outages_are_retried_in_place_then_processed():
    """StoreUnavailable does not lose or dead-letter the message: it is retried."""
    calls = {"n": 0}

    async def flaky(record):
        calls["n"] += 1
        if calls["n"] < 4:
            raise StoreUnavailable("redis unavailable: ConnectionError")
        return [Outgoing(INTERACTIONS_BY_PARTY, b"k", record)]

    sent, stats = await _run(Msg(codec.encode(voice_call("ix-1")[0])), flaky)
    assert calls["n"] == 4
    assert [t for t, _, _ in sent.records] == [INTERACTIONS_BY_PARTY]
    assert stats.retries == 3


async def test_a_store_outage_past_the_deadline_is_dead_lettered_for_redrive():
    """Past the retry deadline the original bytes go to the DLQ (nothing is lost)."""
    deps = _deps(C360_REDIS_RETRY_DEADLINE_SECONDS="0")

    async def down(record):
        raise StoreUnavailable("redis unavailable: ConnectionError")

    raw = codec.encode(voice_call("ix-1")[0])
    sent, _ = await _run(Msg(raw), down, deps)
    letter = codec.decode(sent.records[0][2])
    assert letter.original_value == raw
    assert letter.error_type == "StoreUnavailable"


async def test_logs_carry_message_context_and_no_raw_identifier():
    """Per-message context is bound; the caller's number appears in no log line."""
    deps = _deps()
    bad = voice_call("ix-1", caller="+44 20 7946 0123 x call me")[0]
    with capture_logs() as logs:
        await _run(Msg(codec.encode(bad)), _normalize(deps), deps)
    assert logs
    assert any(entry.get("event") == "dead_lettered" for entry in logs)
    text = repr(logs)
    for fragment in ("2079460123", "7946 0123", CALLER):
        assert fragment not in text


async def test_schema_registry_outages_are_retried_in_place_too():
    """RegistryUnavailable (a transient registry outage) waits like a store outage."""
    calls = {"n": 0}

    async def flaky(record):
        calls["n"] += 1
        if calls["n"] < 3:
            raise RegistryUnavailable("registry unreachable")
        return [Outgoing(INTERACTIONS_BY_PARTY, b"k", record)]

    sent, stats = await _run(Msg(codec.encode(voice_call("ix-1")[0])), flaky)
    assert [t for t, _, _ in sent.records] == [INTERACTIONS_BY_PARTY]
    assert stats.retries == 2
    assert stats.dead_lettered == 0


async def test_a_broker_that_cannot_take_the_output_is_waited_for_not_dead_lettered():
    """Single-message agents too: a failed send is retried in place, never a crash letter."""

    class Flaky(Sent):
        def __init__(self):
            super().__init__()
            self.failures = 2

        async def __call__(self, records):
            if self.failures:
                self.failures -= 1
                raise OutputUnavailable("broker away")
            await super().__call__(records)

    deps, sent, stats = _deps(), Flaky(), StatsBook()
    event = voice_call("ix-1")[0]
    runner = Runner("normalize", _table(_normalize(deps)), deps, sent, stats, sleep=_no_sleep)
    await runner.handle(Msg(codec.encode(event)))
    counts = stats.of("normalize")
    assert counts.retries == 2 and counts.dead_lettered == 0 and counts.processed == 1
    assert [t for t, _k, _v in sent.records] == [INTERACTIONS_BY_PARTY]


def _note(agent="agent-1"):
    return DesktopActionTaken(eid(), "acme", T0, agent, "ix-1", "add_note", text="Call back")


async def test_a_desktop_action_is_decoded_once_and_offered_to_every_handler():
    """The desktop agent's table: links, manual activities, the CRM choice and related
    records, in order; a note makes one activity request and nothing else."""
    deps = _deps()
    table = routes(deps)[DESKTOP]
    assert [r.stage for r in table[DesktopActionTaken]] == [
        "desktop_links",
        "desktop_activities",
        "crm_choice",
        "related_links",
    ]
    sent, stats = Sent(), StatsBook()
    runner = Runner("desktop", table, deps, sent, stats, sleep=_no_sleep)
    await runner.handle(Msg(codec.encode(_note()), topic=DESKTOP))
    assert [t for t, _k, _v in sent.records] == [ACTIVITIES_REQUESTED]
    assert {s: c.processed for s, c in stats.stages.items() if c.processed} == {
        "desktop_links": 1,
        "desktop_activities": 1,
        "crm_choice": 1,
        "related_links": 1,
    }


async def test_a_handler_that_fails_is_dead_lettered_alone_under_its_own_stage():
    """One handler crashing does not cost the others their outputs; its letter names it."""
    deps = _deps()

    async def crash(_record):
        raise RuntimeError("bug")

    table = {
        DesktopActionTaken: (
            Route("broken", crash),
            *routes(deps)[DESKTOP][DesktopActionTaken],
        )
    }
    sent, stats = Sent(), StatsBook()
    runner = Runner("desktop", table, deps, sent, stats, sleep=_no_sleep)
    await runner.handle(Msg(codec.encode(_note()), topic=DESKTOP))
    assert [t for t, _k, _v in sent.records] == [DLQ, ACTIVITIES_REQUESTED]
    letter = codec.decode(sent.records[0][2])
    assert letter.stage == "broken" and letter.error_type == "RuntimeError"
    assert stats.of("broken").dead_lettered == 1
    assert stats.of("desktop_activities").processed == 1


async def test_undecodable_desktop_bytes_make_one_dead_letter_not_one_per_handler():
    """Decoding happens once per message, so garbage is dead-lettered once, by the agent."""
    deps = _deps()
    sent, stats = Sent(), StatsBook()
    runner = Runner("desktop", routes(deps)[DESKTOP], deps, sent, stats, sleep=_no_sleep)
    await runner.handle(Msg(b"\x00garbage", topic=DESKTOP))
    assert [t for t, _k, _v in sent.records] == [DLQ]
    assert codec.decode(sent.records[0][2]).stage == "desktop"
    assert stats.of("desktop").dead_lettered == 1
