"""Hub: fan-out per agent, replay plans from the buffer or from Kafka, slow subscribers."""

from __future__ import annotations

from connectors.gateway.hub import Hub, Plan, Reread
from connectors.gateway.pops import Cursor, Pop, parse_cursor


def _pop(agent: str, offset: int, partition: int = 0, at: int = 1_000) -> Pop:
    return Pop(partition, offset, "demo", agent, at, "{}")


def _hub(buffer: int = 3, now: int = 1_000) -> Hub:
    hub = Hub(buffer, recent_ms=500, clock_ms=lambda: now, queue_limit=2)
    hub.start({0: 10, 1: 0})
    return hub


def test_cursor_parsing() -> None:
    """`p:o` parses; anything else is a fresh start."""
    assert parse_cursor("3:1042") == Cursor(3, 1042)
    assert parse_cursor(" 0:0 ") == Cursor(0, 0)
    for raw in (None, "", "x", "1:", "-1:4", "1:2:3"):
        assert parse_cursor(raw) is None


async def test_live_pops_reach_only_their_agent() -> None:
    """A subscriber gets its own agent's pops, not another agent's."""
    hub = _hub()
    a, b = hub.subscribe("demo", "a", None), hub.subscribe("demo", "b", None)
    hub.dispatch([(0, 10, _pop("a", 10)), (0, 11, None), (0, 12, _pop("b", 12))])
    first = await a.next(0.01)
    assert first is not None and first.offset == 10
    assert await a.next(0.01) is None
    assert (await b.next(0.01)).offset == 12  # type: ignore[union-attr]
    assert hub.positions[0] == 13


async def test_fresh_subscriber_gets_the_recent_pops_only() -> None:
    """No cursor: the agent's pops of the recent window, oldest first; older ones are not."""
    hub = _hub(buffer=5, now=1_400)
    hub.dispatch([(0, o, _pop("a", o, at=at)) for o, at in ((10, 800), (11, 900), (12, 1_000))])
    hub.dispatch([(0, 13, _pop("b", 13))])
    assert hub.subscribe("demo", "a", None).plan == Plan(
        buffered=(_pop("a", 11, at=900), _pop("a", 12, at=1_000))
    )
    stale = _hub(now=10_000)
    stale.dispatch([(0, 10, _pop("a", 10))])
    assert stale.subscribe("demo", "a", None).plan == Plan()


async def test_fresh_subscriber_skips_pops_of_interactions_long_over() -> None:
    """A pop emitted now for an interaction that ended before the window (history replay)
    does not open a new panel; one that ended within the window still does."""
    hub = _hub(now=1_400)
    old = Pop(0, 10, "demo", "a", 1_300, "{}", ended_ms=100)
    just_over = Pop(0, 11, "demo", "a", 1_350, "{}", ended_ms=1_200)
    hub.dispatch([(0, 10, old), (0, 11, just_over)])
    assert hub.subscribe("demo", "a", None).plan == Plan(buffered=(just_over,))


async def test_cursor_inside_the_buffer_replays_from_it() -> None:
    """A cursor the buffer reaches back to replays exactly the later pops."""
    hub = _hub()
    hub.dispatch([(0, o, _pop("a", o)) for o in (10, 11, 12)])
    plan = hub.subscribe("demo", "a", Cursor(0, 10)).plan
    assert [p.offset for p in plan.buffered] == [11, 12]
    assert plan.reread is None
    assert hub.subscribe("demo", "a", Cursor(0, 12)).plan == Plan()


async def test_cursor_before_the_feed_started_rereads_kafka() -> None:
    """A cursor older than the feed's start (gateway restart) plans a re-read up to now."""
    hub = _hub()
    hub.dispatch([(0, 10, _pop("a", 10))])
    plan = hub.subscribe("demo", "a", Cursor(0, 4)).plan
    assert plan == Plan(reread=Reread(0, 5, 11))
    # the record just before the feed's start is covered: the cursor is its predecessor
    assert hub.subscribe("demo", "a", Cursor(0, 9)).plan.reread is None


async def test_evicted_pops_force_a_reread() -> None:
    """Once the buffer dropped pops after the cursor, the plan re-reads from Kafka."""
    hub = _hub(buffer=2)
    hub.dispatch([(0, o, _pop("a", o)) for o in (10, 11, 12, 13)])
    assert hub.subscribe("demo", "a", Cursor(0, 10)).plan == Plan(reread=Reread(0, 11, 14))
    assert [p.offset for p in hub.subscribe("demo", "a", Cursor(0, 11)).plan.buffered] == [12, 13]


async def test_unknown_partition_cursor_is_a_fresh_start() -> None:
    """A cursor for a partition the topic does not have is ignored."""
    hub = _hub(now=1_000)
    hub.dispatch([(1, 0, _pop("a", 0, partition=1))])
    assert [p.offset for p in hub.subscribe("demo", "a", Cursor(7, 3)).plan.buffered] == [0]


async def test_slow_subscriber_is_closed_not_blocking() -> None:
    """A subscriber that falls behind its queue limit is closed (it reconnects and resumes)."""
    hub = _hub()
    sub = hub.subscribe("demo", "a", None)
    hub.dispatch([(0, o, _pop("a", o)) for o in (10, 11, 12)])
    assert sub.overflowed
    assert [(await sub.next(0.01)).offset for _ in range(2)] == [10, 11]  # type: ignore[union-attr]
    assert sub.finished


async def test_close_and_unsubscribe() -> None:
    """close() ends every stream; unsubscribe forgets it."""
    hub = _hub()
    sub = hub.subscribe("demo", "a", None)
    assert hub.subscriber_count("demo", "a") == 1
    hub.close()
    assert await sub.next(5) is None
    assert sub.finished
    hub.unsubscribe(sub)
    assert hub.subscriber_count("demo", "a") == 0


async def test_fresh_subscriber_judges_by_ring_time_not_pop_time() -> None:
    """A pop rendered now (occurred 1_300) for a call that rang long before the window
    (rang 100) is not replayed; without a ring time the pop time decides."""
    hub = _hub(now=1_400)
    rendered_late = Pop(0, 10, "demo", "a", 1_300, "{}", rang_ms=100)
    unknown = Pop(0, 11, "demo", "a", 1_300, "{}")
    hub.dispatch([(0, 10, rendered_late), (0, 11, unknown)])
    assert hub.subscribe("demo", "a", None).plan == Plan(buffered=(unknown,))
