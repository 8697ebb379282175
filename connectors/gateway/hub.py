"""Fan-out of screen pops per (tenant, agent) with a bounded replay buffer keyed by offset."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from connectors.gateway.pops import Cursor, Pop

AgentId = tuple[str, str]  # (tenant, agent)


@dataclass(frozen=True, slots=True)
class Reread:
    """Offsets [start, end) of one partition must be read back from Kafka: the buffer does
    not reach back to the client's cursor (gateway restart, long disconnect, eviction)."""

    partition: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What a new subscriber gets before live pops: buffered pops, or a Kafka re-read."""

    buffered: tuple[Pop, ...] = ()
    reread: Reread | None = None


class Subscription:
    """One connected stream. Live pops queue here; a subscriber that falls `limit` pops
    behind is closed (its client reconnects with Last-Event-ID and loses nothing)."""

    def __init__(self, who: AgentId, limit: int) -> None:
        self.who = who
        self.plan = Plan()
        self.closed = False
        self.overflowed = False
        self._items: deque[Pop] = deque()
        self._limit = limit
        self._wake = asyncio.Event()

    def push(self, pop: Pop) -> None:
        """Queue a live pop (called on the event loop by the hub)."""
        if self.closed:
            return
        if len(self._items) >= self._limit:
            self.overflowed = True
            self.close()
            return
        self._items.append(pop)
        self._wake.set()

    def close(self) -> None:
        """End the stream after what is queued."""
        self.closed = True
        self._wake.set()

    async def next(self, wait_seconds: float) -> Pop | None:
        """The next live pop; None on timeout (send a heartbeat) or once closed and drained."""
        if not self._items and not self.closed:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait_seconds)
            except TimeoutError:
                return None
        return self._items.popleft() if self._items else None

    @property
    def finished(self) -> bool:
        """Closed and nothing left to send."""
        return self.closed and not self._items


@dataclass
class _Buffer:
    pops: deque[Pop]
    evicted: dict[int, int] = field(default_factory=dict)  # partition -> highest evicted offset


class Hub:
    """In-process fan-out; every method runs on the event loop (the Kafka feed thread hands
    records over with call_soon_threadsafe), so no locks are needed.

    `positions[p]` is the next offset of partition p the hub has not dispatched yet and
    `floors[p]` the first it dispatched: a subscriber registered now receives every offset
    >= positions[p] live, and the buffer (or a re-read of [cursor+1, positions[p])) covers
    what came before — together without gap or overlap.
    """

    def __init__(
        self,
        buffer_size: int,
        recent_ms: int,
        clock_ms: Callable[[], int],
        queue_limit: int = 500,
    ) -> None:
        self.positions: dict[int, int] = {}
        self.floors: dict[int, int] = {}
        self.ready = asyncio.Event()
        self._buffer_size = buffer_size
        self._recent_ms = recent_ms
        self._clock_ms = clock_ms
        self._queue_limit = queue_limit
        self._buffers: dict[AgentId, _Buffer] = {}
        self._subscribers: dict[AgentId, set[Subscription]] = {}

    def start(self, starts: dict[int, int]) -> None:
        """The feed is assigned: partition -> first offset it will read."""
        for partition, offset in starts.items():
            self.floors[partition] = offset
            self.positions[partition] = offset
        self.ready.set()

    def dispatch(self, records: Iterable[tuple[int, int, Pop | None]]) -> None:
        """Records read by the feed, in partition order; None = a record that is not a pop
        (it still moves the position)."""
        for partition, offset, pop in records:
            self.positions[partition] = max(self.positions.get(partition, 0), offset + 1)
            if pop is None:
                continue
            who = (pop.tenant, pop.agent)
            buffer = self._buffers.setdefault(who, _Buffer(deque()))
            if len(buffer.pops) >= self._buffer_size:
                gone = buffer.pops.popleft()
                seen = buffer.evicted.get(gone.partition, -1)
                buffer.evicted[gone.partition] = max(seen, gone.offset)
            buffer.pops.append(pop)
            for sub in tuple(self._subscribers.get(who, ())):
                sub.push(pop)

    def subscribe(self, tenant: str, agent: str, cursor: Cursor | None) -> Subscription:
        """Register a stream; its `plan` says what to send before the live pops."""
        who = (tenant, agent)
        sub = Subscription(who, self._queue_limit)
        sub.plan = self._plan(who, cursor)
        self._subscribers.setdefault(who, set()).add(sub)
        return sub

    def _plan(self, who: AgentId, cursor: Cursor | None) -> Plan:
        buffer = self._buffers.get(who)
        pops = tuple(buffer.pops) if buffer else ()
        if cursor is None or cursor.partition not in self.positions:
            # A fresh panel (or a cursor from another topic layout) replays the agent's
            # recent pops, oldest first, so it opens on the current call and still offers
            # the calls just before it (wrap-up notes); nothing older.
            return Plan(buffered=tuple(p for p in pops if self._recent(p)))
        partition, after = cursor.partition, cursor.offset
        end = self.positions[partition]
        evicted = buffer.evicted.get(partition, -1) if buffer else -1
        if after + 1 >= self.floors[partition] and evicted <= after:
            return Plan(buffered=tuple(
                p for p in pops if p.partition == partition and p.offset > after
            ))
        return Plan(reread=Reread(partition, after + 1, end))

    def _recent(self, pop: Pop) -> bool:
        """Rang within the window, for an interaction not known to have ended before it (a
        history replay or a worked-through backlog pops old calls with a fresh pop time,
        so the ring time decides, not the pop's own occurred_at)."""
        now = self._clock_ms()
        latest = pop.ring_ms if pop.ended_ms is None else min(pop.ring_ms, pop.ended_ms)
        return now - latest <= self._recent_ms

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget a stream (its connection ended)."""
        subs = self._subscribers.get(sub.who)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.who]

    def subscriber_count(self, tenant: str, agent: str) -> int:
        """How many streams the agent has open (for tests and stats)."""
        return len(self._subscribers.get((tenant, agent), ()))

    def close(self) -> None:
        """End every stream (service shutdown)."""
        for subs in tuple(self._subscribers.values()):
            for sub in tuple(subs):
                sub.close()
