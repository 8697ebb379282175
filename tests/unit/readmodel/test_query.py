"""Timeline queries: parameters, period floors, filters, cursors and the profile union."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.query import (
    Cursor,
    QueryError,
    TimelineQuery,
    decode_cursor,
    encode_cursor,
    months_before,
    page,
    parse_query,
    union,
)
from core.timeline import apply, fold, to_ms
from schemas.records import CHANNELS, InteractionWrappedUp
from tests.factories import T0, interaction_events, voice_call

NOW = to_ms(T0)
YEAR = 365 * 86_400_000


def test_channel_defaults_to_the_current_interactions_channel():
    """No channel parameter: the current interaction's channel, else every channel."""
    assert parse_query({}, current_channel="chat").channels == ("chat",)
    assert parse_query({}).channels == CHANNELS
    assert parse_query({"channel": "all"}, current_channel="chat").channels == CHANNELS
    assert parse_query({"channel": "voice, email"}).channels == ("voice", "email")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"channel": "fax"}, "bad_channel"),
        ({"period": "4"}, "bad_period"),
        ({"period": "three"}, "bad_period"),
        ({"direction": "sideways"}, "bad_direction"),
        ({"limit": "0"}, "bad_limit"),
        ({"limit": "9999"}, "bad_limit"),
        ({"cursor": "not-a-cursor"}, "bad_cursor"),
        ({"before": "yesterday"}, "bad_paging"),
    ],
)
def test_bad_parameters_are_refused_with_a_code(params, code):
    """Every bad filter names itself in the error code."""
    with pytest.raises(QueryError) as err:
        parse_query(params)
    assert err.value.code == code


@given(st.integers(0, 2**45), st.text(min_size=1, max_size=40))
def test_cursor_round_trips(ms, iid):
    """An encoded cursor decodes to itself and is URL safe."""
    text = encode_cursor(Cursor(ms, iid))
    assert decode_cursor(text) == Cursor(ms, iid)
    assert all(c.isalnum() or c in "-_" for c in text)


@pytest.mark.parametrize(
    ("now", "months", "expected"),
    [
        (datetime(2025, 5, 31, 12, tzinfo=UTC), 3, datetime(2025, 2, 28, 12, tzinfo=UTC)),
        (datetime(2024, 5, 31, 12, tzinfo=UTC), 3, datetime(2024, 2, 29, 12, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), 12, datetime(2024, 1, 15, tzinfo=UTC)),
        (datetime(2025, 3, 10, tzinfo=UTC), 9, datetime(2024, 6, 10, tzinfo=UTC)),
    ],
)
def test_periods_are_calendar_months(now, months, expected):
    """3/6/9/12 months back means the same day of the month, clamped to the month's end."""
    assert months_before(to_ms(now), months) == to_ms(expected)


def _entries(events):
    return list(fold(events).values())


@given(
    st.lists(interaction_events(), min_size=1, max_size=30),
    st.integers(1, 4),
    st.sampled_from([None, 3, 12]),
    st.sampled_from([None, "inbound", "outbound"]),
)
def test_paging_with_cursors_visits_every_match_once_in_order(events, limit, period, direction):
    """Following next cursors returns each matching entry exactly once, newest first."""
    entries = _entries(events)
    base = TimelineQuery(channels=CHANNELS, limit=limit, period_months=period, direction=direction)
    floor = max(NOW - YEAR, months_before(NOW, period) if period else 0)
    expected = page(
        entries, TimelineQuery(CHANNELS, 10_000, period_months=period, direction=direction), floor
    ).entries
    seen, query = [], base
    for _ in range(100):
        got = page(entries, query, floor)
        seen += got.entries
        if got.next_cursor is None:
            break
        query = TimelineQuery(CHANNELS, limit, None, direction, period, got.next_cursor)
    assert [e.interaction_id for e in seen] == [e.interaction_id for e in expected]
    assert all(e.started_ms >= floor for e in seen)


def test_campaign_and_channel_both_apply():
    """campaign AND channel: only entries matching both are returned."""
    entries = []
    for iid, channel, campaign in (
        ("ix-1", "voice", "Spring"),
        ("ix-2", "voice", "Other"),
        ("ix-3", "chat", "Spring"),
    ):
        late = InteractionWrappedUp(
            f"e-{iid}", "acme", T0 + timedelta(hours=1), iid, "voice", "a1", campaign=campaign
        )
        entries.append(replace(apply(fold(voice_call(iid))[iid], late), channel=channel))
    query = parse_query({"campaign": "spring", "channel": "voice"})
    shown = page(entries, query, NOW - YEAR).entries
    assert [e.interaction_id for e in shown] == ["ix-1"]
    assert [
        e.interaction_id
        for e in page(entries, parse_query({"campaign": "Spring"}), NOW - YEAR).entries
    ] == ["ix-3", "ix-1"]


@given(st.lists(interaction_events(), min_size=1, max_size=20), st.randoms())
def test_profile_union_does_not_depend_on_identifier_order(events, rnd):
    """A profile's union is the same whatever order its identifiers are read in, and an
    interaction under two identifiers is one item."""
    entries = _entries(events)
    a, b = entries[::2], entries[1::2] + entries[:1]
    lists = [a, b]
    rnd.shuffle(lists)
    merged = union(lists)
    assert merged == union([b, a])
    assert len({e.interaction_id for e in merged}) == len(merged) == len(entries)
