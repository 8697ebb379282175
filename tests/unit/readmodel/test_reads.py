"""Read use cases on the in-memory twins: profile union with relinks, paging, round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.links import IN, OUT, LinkMark
from core.profiles import Profile, ProfileIdentifier
from core.query import TimelineQuery, floor_ms, page, parse_query
from core.timeline import Retention, fold, to_ms, visible
from projections.memory import InMemoryTimelineStore
from projections.memory_profiles import InMemoryInteractionLinks, InMemoryProfileDirectory
from projections.reads import (
    ReadModel,
    Scope,
    UnknownProfile,
    find_interaction,
    insights_hook,
    profile_scope,
    timeline_page,
)
from schemas.records import CHANNELS, InteractionWrappedUp
from tests.factories import T0, eid, interaction_events, voice_call

NOW = to_ms(T0 + timedelta(hours=12))


class CountingStore(InMemoryTimelineStore):
    """The twin, counting reads (each is one pipelined round trip + one MGET on Redis)."""

    def __init__(self, retention: Retention) -> None:
        super().__init__(retention)
        self.reads = 0

    async def read(self, *args, **kwargs):
        self.reads += 1
        return await super().read(*args, **kwargs)


async def _model(n_calls: int = 8, cap: int = 50) -> tuple[ReadModel, CountingStore]:
    store = CountingStore(Retention(max_entries=cap))
    for n in range(n_calls):
        token = "tok-a" if n % 2 == 0 else "tok-b"
        for event in voice_call(f"ix-{n}", start=T0 - timedelta(days=n)):
            await store.apply("acme", token, event, NOW)
    directory = InMemoryProfileDirectory()
    ids = (ProfileIdentifier("phone", "+1", "tok-a"), ProfileIdentifier("email", "e", "tok-b"))
    await directory.upsert(Profile("acme", "p1", (1, "e1"), "Pat", ids))
    links = InMemoryInteractionLinks()
    return ReadModel(store, store._retention, directory, links), store


async def test_a_profile_timeline_is_the_union_of_its_identifiers():
    """Both identifiers' interactions, newest first, each once."""
    rm, _ = await _model()
    scope = await profile_scope(rm, "acme", "p1")
    got = await timeline_page(rm, "acme", scope, TimelineQuery(CHANNELS), NOW)
    assert [e.interaction_id for e in got.entries] == [f"ix-{n}" for n in range(8)]


async def test_relinked_interactions_move_between_profiles():
    """An interaction linked away is hidden; one linked in from elsewhere is shown."""
    rm, store = await _model()
    for event in voice_call("ix-x", start=T0 - timedelta(hours=1)):
        await store.apply("acme", "tok-z", event, NOW)
    assert rm.links is not None
    await rm.links.mark("acme", "p1", LinkMark("ix-0", OUT, "tok-a"))
    await rm.links.mark("acme", "p1", LinkMark("ix-x", IN, "tok-z"))
    scope = await profile_scope(rm, "acme", "p1")
    got = await timeline_page(rm, "acme", scope, TimelineQuery(CHANNELS, limit=3), NOW)
    assert [e.interaction_id for e in got.entries] == ["ix-x", "ix-1", "ix-2"]
    assert await find_interaction(rm, "acme", "ix-x", scope, NOW) is not None


async def test_unknown_profile_is_an_error():
    """A profile id the directory does not know raises UnknownProfile."""
    rm, _ = await _model()
    with pytest.raises(UnknownProfile):
        await profile_scope(rm, "acme", "nobody")


async def test_a_filtered_identifier_page_costs_at_most_two_reads():
    """Filters the store cannot apply widen the read once; pages are one or two reads."""
    rm, store = await _model(n_calls=30, cap=50)
    scope = Scope(("tok-a",))
    await timeline_page(rm, "acme", scope, parse_query({"limit": "5"}), NOW)
    assert store.reads == 1
    store.reads = 0
    await timeline_page(rm, "acme", scope, parse_query({"limit": "5", "campaign": "x"}), NOW)
    assert store.reads == 1
    store.reads = 0
    await timeline_page(rm, "acme", scope, parse_query({"limit": "5", "period": "3"}), NOW)
    assert store.reads <= 2


async def test_cursor_paging_over_the_store_sees_every_entry_once():
    """Pages of 3 with the returned cursor walk the whole timeline without gaps or repeats."""
    rm, _ = await _model(n_calls=10)
    scope = await profile_scope(rm, "acme", "p1")
    seen, query = [], TimelineQuery(CHANNELS, limit=3)
    while True:
        got = await timeline_page(rm, "acme", scope, query, NOW)
        seen += [e.interaction_id for e in got.entries]
        if got.next_cursor is None:
            break
        query = TimelineQuery(CHANNELS, limit=3, cursor=got.next_cursor)
    assert seen == [f"ix-{n}" for n in range(10)]


async def test_direction_filter_reads_past_a_short_first_batch():
    """Only old interactions match: the page still finds them (the read widens)."""
    rm, store = await _model(n_calls=12)
    late = InteractionWrappedUp(
        eid(), "acme", T0 + timedelta(hours=2), "ix-10", "voice", "a", campaign="Rare"
    )
    await store.apply("acme", "tok-a", late, NOW)
    got = await timeline_page(
        rm, "acme", Scope(("tok-a",)), parse_query({"limit": "1", "campaign": "rare"}), NOW
    )
    assert [e.interaction_id for e in got.entries] == ["ix-10"]


async def test_the_screen_pop_hook_returns_insights_and_journey():
    """The hook streams.directory expects: sentiment, topics, engagement, journey."""
    rm, _ = await _model()
    got = await insights_hook(rm)("acme", ["tok-a"], "voice", NOW)
    assert got is not None
    assert set(got) >= {"sentiment", "topics", "engagement", "journey"}
    assert got["engagement"]["available"] is True


@settings(max_examples=60, deadline=None)
@given(
    st.lists(interaction_events(clustered=True), min_size=1, max_size=30),
    st.randoms(),
    st.sampled_from([None, "inbound"]),
    st.sampled_from([None, 3, 12]),
    st.integers(1, 4),
)
async def test_pages_equal_the_reference_fold_whatever_the_delivery(
    events, rnd, direction, period, limit
):
    """Events delivered shuffled and twice: every page equals the same page computed from
    the reference fold (visible() of fold()), for any filter and page size."""
    retention = Retention(max_entries=3, window_ms=90 * 86_400_000)
    store = InMemoryTimelineStore(retention)
    now = to_ms(T0)
    delivery = events + events
    rnd.shuffle(delivery)
    for event in delivery:
        await store.apply("t", "tok", event, now)
    rm = ReadModel(store, retention)
    reference = visible(list(fold(events).values()), now, retention)
    query = TimelineQuery(CHANNELS, limit=limit, direction=direction, period_months=period)
    floor = floor_ms(query, now, retention.window_ms)
    while True:
        got = await timeline_page(rm, "t", Scope(("tok",)), query, now)
        assert got == page(reference, query, floor)
        if got.next_cursor is None:
            break
        query = replace(query, cursor=got.next_cursor)
