"""Pops as the gateway holds them: decoding, when their interaction ended, feed retries."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME
from structlog.testing import capture_logs

from connectors.gateway import kafka_feed as feed_module
from connectors.gateway.kafka_feed import KafkaPopFeed
from connectors.gateway.pops import Pop, ended_ms_of, is_ringing, pop_from_message
from infra.kafka_config import KafkaEndpoint
from schemas import codec
from schemas.confluent import RegistryUnavailable
from schemas.errors import SchemaError
from schemas.records import DesktopActionTaken
from tests.gateway_helpers import NOW, pop, timeline_item


def test_pop_from_message_reads_whose_and_when() -> None:
    """Tenant, agent and times come from the record; the data is its JSON."""
    ended = NOW - timedelta(days=30)
    record = pop("agent-a", iid="ix-1", occurred_at=NOW, timeline=[
        timeline_item("ix-1", "voice", ended - timedelta(minutes=4),
                      ended_at=ended.isoformat()),
    ])
    got = pop_from_message(2, 41, codec.encode(record))
    assert (got.partition, got.offset, got.tenant, got.agent) == (2, 41, "demo", "agent-a")
    assert got.event_id == "2:41"
    assert got.occurred_ms == int(NOW.timestamp() * 1000)
    assert got.ended_ms == int(ended.timestamp() * 1000)
    assert json.loads(got.data)["interaction_id"] == "ix-1"
    assert got.rang_ms == got.ring_ms == int(NOW.timestamp() * 1000)


def test_the_ring_time_comes_from_rang_at_and_falls_back_to_the_pop_time() -> None:
    """rang_at (the trigger event's time) is kept apart from occurred_at (render time)."""
    rang = NOW - timedelta(days=5)
    got = pop_from_message(0, 0, codec.encode(pop("agent-a", occurred_at=NOW, rang_at=rang)))
    assert (got.rang_ms, got.ring_ms) == (int(rang.timestamp() * 1000),) * 2
    assert got.occurred_ms == int(NOW.timestamp() * 1000)
    assert Pop(0, 0, "t", "a", 5_000, "{}").ring_ms == 5_000


@pytest.mark.parametrize(
    ("rang", "ended", "ringing"),
    [
        (100_000, None, True),  # just rang
        (100_000 - 120_000, None, True),  # at the window's edge
        (100_000 - 120_001, None, False),  # past it: an earlier call
        (100_000, 99_000, False),  # ended already: not ringing however recent
        (100_000, 100_500, True),  # an end in the future (clock skew) does not count yet
        (100_000 - 5 * 86_400_000, None, False),  # a 5-day-old ring from a worked backlog
    ],
)
def test_is_ringing(rang: int, ended: int | None, ringing: bool) -> None:
    """Ringing = rang within the freshness window and not known to have ended."""
    popped = Pop(0, 0, "t", "a", 100_000, "{}", ended_ms=ended, rang_ms=rang)
    assert is_ringing(popped, 100_000, 120_000) is ringing


def test_ended_is_none_while_the_interaction_is_open() -> None:
    """No item for the interaction, no end time, or an unreadable view: not known to have
    ended."""
    open_item = timeline_item("ix-1", "voice", NOW)
    assert ended_ms_of("ix-1", json.dumps({"timeline": [open_item]})) is None
    other = timeline_item("ix-2", "voice", NOW, ended_at=NOW.isoformat())
    assert ended_ms_of("ix-1", json.dumps({"timeline": [other]})) is None
    for raw in (None, "", "not json", "[]", '{"timeline": 3}',
                '{"timeline": [{"interaction_id": "ix-1", "ended_at": "yesterday"}]}'):
        assert ended_ms_of("ix-1", raw) is None
    naive = json.dumps({"timeline": [{"interaction_id": "ix-1",
                                      "ended_at": "2025-03-01T09:00:00"}]})
    assert ended_ms_of("ix-1", naive) == int(NOW.timestamp() * 1000)


def test_records_that_are_not_pops_are_schema_errors() -> None:
    """Tombstones and other record types on the topic are skipped by the caller."""
    with pytest.raises(SchemaError):
        pop_from_message(0, 0, None)
    action = DesktopActionTaken("e-1", "demo", NOW, "agent-a", "ix-1", "add_note", text="x")
    with pytest.raises(SchemaError):
        pop_from_message(0, 1, codec.encode(action))


class _Msg:
    """The few confluent-kafka Message methods the feed reads."""

    def __init__(self, value: bytes, at_ms: int = 0) -> None:
        self._value = value
        self._at_ms = at_ms

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, self._at_ms

    def error(self) -> None:
        return None

    def partition(self) -> int:
        return 1

    def offset(self) -> int:
        return 7

    def value(self) -> bytes:
        return self._value


def test_feed_waits_for_the_registry_instead_of_dropping_the_pop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registry outage while decoding is retried in place; a bad record is skipped."""
    outages = [RegistryUnavailable("registry unreachable"), RegistryUnavailable("again")]

    def decode(data: bytes) -> object:
        if outages:
            raise outages.pop(0)
        return codec.decode(data)

    feed = KafkaPopFeed(KafkaEndpoint("unused:1"), "t", decode, warm_records=0)
    monkeypatch.setattr(feed_module, "_RETRY_SECONDS", 0.0)
    got = feed._record(_Msg(codec.encode(pop("agent-a", iid="ix-7"))))
    assert got is not None and got[:2] == (1, 7)
    assert got[2] is not None and got[2].agent == "agent-a"
    assert outages == []
    assert feed._record(_Msg(b"not avro")) == (1, 7, None)


def test_feed_says_when_the_warm_read_back_misses_the_window() -> None:
    """A warm start whose first record is younger than the recent window is logged once
    (the read-back did not reach the window's start); an old enough one is not."""
    data = codec.encode(pop("agent-a"))
    now_ms = int(time.time() * 1000)
    feed = KafkaPopFeed(KafkaEndpoint("unused:1"), "t", codec.decode, warm_records=10,
                        window_seconds=900)
    feed._unchecked = {1}
    with capture_logs() as logs:
        feed._record(_Msg(data, at_ms=now_ms - 60_000))
        feed._record(_Msg(data, at_ms=now_ms - 30_000))
    short = [e for e in logs if e["event"] == "gateway_warm_window_short"]
    assert len(short) == 1
    assert short[0]["partition"] == 1 and short[0]["window_seconds"] == 900
    feed._unchecked = {1}
    with capture_logs() as logs:
        feed._record(_Msg(data, at_ms=now_ms - 3_600_000))
    assert not [e for e in logs if e["event"] == "gateway_warm_window_short"]
