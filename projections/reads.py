"""Read-model use cases over the store ports: timeline pages, insights inputs, one interaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import insights
from core.errors import StoreUnavailable
from core.links import IN, OUT
from core.ports import InteractionLinks, Party, ProfileDirectory
from core.query import (
    MAX_LIMIT,
    Page,
    TimelineQuery,
    floor_ms,
    needs_more,
    page,
    store_request,
    union,
)
from core.timeline import InteractionEntry, Retention
from projections.null import NullInteractionLinks, NullPartyLookup, NullProfileDirectory
from projections.topic_config import TopicConfig
from schemas.errors import C360Error
from schemas.records import CHANNELS

# Round trips: an identifier page is one timeline read (RedisTimelineStore: a pipelined
# ZREVRANGEBYSCORE per channel + one HMGET; the query API's CachedRedisTimeline: one script
# doing both), a second one only when filters left the first batch short. A profile adds the
# directory (tokens_of: 2) and the link marks (1), then one read per identifier.


class UnknownProfile(C360Error, LookupError):
    """The profile id is not in the directory (or was deleted)."""


class TimelineReads(Protocol):
    """The part of a TimelineStore reads use (read and get, as documented there); the
    query API's CachedRedisTimeline serves only these."""

    async def read(
        self,
        tenant_id: str,
        token: str,
        channels: Sequence[str],
        now_ms: int,
        limit: int,
        before_ms: int | None = None,
    ) -> list[InteractionEntry]:
        """TimelineStore.read."""
        ...

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        """TimelineStore.get."""
        ...


@dataclass(frozen=True, slots=True)
class ReadModel:
    """The stores a read needs. A deployment without a profile directory or party records
    gets their Null twins (projections/null.py), so the reads below never branch on one."""

    timeline: TimelineReads
    retention: Retention = field(default_factory=Retention)
    profiles: ProfileDirectory = field(default_factory=NullProfileDirectory)
    links: InteractionLinks = field(default_factory=NullInteractionLinks)
    parties: PartyLookup = field(default_factory=NullPartyLookup)
    topics: TopicConfig = field(default_factory=lambda: TopicConfig(None))
    insight_settings: insights.InsightSettings = field(default_factory=insights.InsightSettings)


class PartyLookup(Protocol):
    """The one question reads ask of the party records (InteractionParties answers it)."""

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        """The party an interaction belongs to, or None."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose timeline: identifier tokens, plus a profile's relink marks (hidden / linked in)."""

    tokens: tuple[str, ...]
    hidden: frozenset[str] = frozenset()
    linked: tuple[tuple[str, str], ...] = ()  # (token, interaction id) linked in


async def profile_scope(rm: ReadModel, tenant_id: str, profile_id: str) -> Scope:
    """The profile's identifier tokens and link marks; raises UnknownProfile."""
    if not await rm.profiles.known(tenant_id, [profile_id]):
        raise UnknownProfile(f"no profile {profile_id!r} in tenant {tenant_id!r}")
    tokens = await rm.profiles.tokens_of(tenant_id, profile_id)
    marks = await rm.links.marks(tenant_id, profile_id)
    return Scope(
        tokens=tuple(tokens),
        hidden=frozenset(m.interaction_id for m in marks if m.state == OUT),
        linked=tuple(
            sorted((m.token, m.interaction_id) for m in marks if m.state == IN and m.token)
        ),
    )


async def _read(
    rm: ReadModel,
    tenant_id: str,
    token: str,
    query: TimelineQuery,
    now_ms: int,
    extra: int,
    everything: bool,
) -> list[InteractionEntry]:
    full = rm.retention.max_entries * len(query.channels) + extra
    limit, before = store_request(query, rm.retention.max_entries)
    limit = full if everything else limit + extra
    got = await rm.timeline.read(tenant_id, token, query.channels, now_ms, limit, before)
    floor = floor_ms(query, now_ms, rm.retention.window_ms)
    if full > limit and needs_more(got, limit, query, floor):
        got = await rm.timeline.read(tenant_id, token, query.channels, now_ms, full, before)
    return got


async def scope_entries(
    rm: ReadModel,
    tenant_id: str,
    scope: Scope,
    query: TimelineQuery,
    now_ms: int,
    *,
    everything: bool = False,
) -> list[InteractionEntry]:
    """Newest-first candidate entries of the scope for `query` (filtered later by `page`);
    `everything` reads the whole capped timeline of the query's channels at once."""
    hidden = len(scope.hidden)
    if len(scope.tokens) == 1 and not scope.linked:
        # One identifier (the screen-pop and agent-desktop case): the store already returns
        # one entry per interaction, newest first, so there is nothing to join (and no task
        # to start: this is the hot path of the query API).
        got = await _read(rm, tenant_id, scope.tokens[0], query, now_ms, hidden, everything)
        return [e for e in got if e.interaction_id not in scope.hidden]
    # A profile's identifiers are read concurrently: the round trips overlap, so a profile
    # page costs about what one identifier's does (the union does not depend on the order).
    found = await asyncio.gather(
        *(_read(rm, tenant_id, token, query, now_ms, hidden, everything) for token in scope.tokens)
    )
    merged = [e for e in union(found) if e.interaction_id not in scope.hidden]
    known = {e.interaction_id for e in merged}
    wanted = [(token, iid) for token, iid in scope.linked if iid not in known]
    linked = await asyncio.gather(*(rm.timeline.get(tenant_id, t, iid) for t, iid in wanted))
    return union([merged, [e for e in linked if e is not None]])


async def timeline_page(
    rm: ReadModel, tenant_id: str, scope: Scope, query: TimelineQuery, now_ms: int
) -> Page:
    """One page of the scope's timeline (never an entry outside the window or the period)."""
    entries = await scope_entries(rm, tenant_id, scope, query, now_ms)
    return page(entries, query, floor_ms(query, now_ms, rm.retention.window_ms))


async def all_entries(
    rm: ReadModel, tenant_id: str, scope: Scope, now_ms: int, channels: Sequence[str] = CHANNELS
) -> list[InteractionEntry]:
    """Every stored entry of the scope inside the window, newest first (bounded by the
    per-channel cap: this reads at most `max_entries` per channel and identifier)."""
    query = TimelineQuery(channels=tuple(channels), limit=MAX_LIMIT)
    entries = await scope_entries(rm, tenant_id, scope, query, now_ms, everything=True)
    floor = now_ms - rm.retention.window_ms
    return [e for e in entries if e.channel in query.channels and e.started_ms >= floor]


def _insights(
    rm: ReadModel, tenant_id: str, entries: list[InteractionEntry], now_ms: int
) -> dict[str, Any]:
    phrases = rm.topics.for_tenant(tenant_id)
    return insights.insights_for(entries, now_ms, phrases, rm.insight_settings)


async def insights_of(
    rm: ReadModel, tenant_id: str, scope: Scope, now_ms: int, channels: Sequence[str] = CHANNELS
) -> dict[str, Any]:
    """Sentiment, topics and engagement summary of the scope (journey has its own route)."""
    entries = await all_entries(rm, tenant_id, scope, now_ms, channels)
    found = _insights(rm, tenant_id, entries, now_ms)
    del found["journey"]
    return found


async def find_interaction(
    rm: ReadModel, tenant_id: str, interaction_id: str, scope: Scope | None, now_ms: int
) -> InteractionEntry | None:
    """One interaction, looked up in the scope's tokens, else through the interaction's party
    record; None when unknown or outside the retention window."""
    tokens = list(scope.tokens) if scope is not None else []
    if scope is not None:
        tokens += [token for token, iid in scope.linked if iid == interaction_id]
    if not tokens:
        party = await rm.parties.lookup(tenant_id, interaction_id)
        tokens = [party.token] if party is not None else []
    for token in tokens:
        entry = await rm.timeline.get(tenant_id, token, interaction_id)
        if entry is not None and entry.started_ms >= now_ms - rm.retention.window_ms:
            return entry
    return None


InsightsFn = Callable[[str, Sequence[str], str, int], Awaitable[dict[str, Any] | None]]


def insights_hook(rm: ReadModel) -> InsightsFn:
    """The screen-pop hook `insights(tenant, tokens, channel, now_ms)` (streams.directory):
    `insights.insights_for` over all channels of the matched identifiers (journey included);
    None when the store is unavailable (the pop goes out without them rather than waiting)."""

    async def hook(
        tenant_id: str, tokens: Sequence[str], _channel: str, now_ms: int
    ) -> dict[str, Any] | None:
        scope = Scope(tokens=tuple(tokens))
        try:
            entries = await all_entries(rm, tenant_id, scope, now_ms)
        except StoreUnavailable:
            return None
        return _insights(rm, tenant_id, entries, now_ms)

    return hook
