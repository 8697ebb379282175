"""One pass per batch of canonical events: party, one fold write, pops first, then the rest."""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

import structlog

from core.errors import StoreUnavailable
from core.policies import is_prewarm
from core.ports import Party, TimelineStore
from core.timeline import InteractionEntry, entry_of, from_ms, merge
from schemas.confluent import RegistryUnavailable
from schemas.errors import C360Error, SchemaError
from schemas.records import INTERACTION_EVENT_TYPES, InteractionEvent, PartyInteraction
from schemas.validation import Limits, validate
from streams.activities import activities_for_entry
from streams.handlers import Deps, Outgoing, customer_address, party_for, rekeyed
from streams.processing import Message
from streams.screen_pops import PanelMemo, pop_for_entry

log = structlog.get_logger("c360.pipeline")

# Transient: the whole batch waits and is retried in place (every step is idempotent).
RETRYABLE = (StoreUnavailable, RegistryUnavailable)
EntryKey = tuple[str, str, str]  # tenant, party token, interaction id
POP_CONCURRENCY = 32


class PartyCache:
    """Interaction -> party, as stored (first writer wins), for interactions this process
    has resolved. The interactions topic is keyed by interaction id, so one worker sees
    every event of an interaction: after its first event, the rest need no Redis call.
    A party never changes once stored, so an entry cannot go stale; it is only bounded."""

    def __init__(self, max_items: int = 200_000) -> None:
        self._items: OrderedDict[tuple[str, str], Party] = OrderedDict()
        self._max = max_items

    def get(self, key: tuple[str, str]) -> Party | None:
        party = self._items.get(key)
        if party is not None:
            self._items.move_to_end(key)
        return party

    def put(self, key: tuple[str, str], party: Party) -> None:
        self._items[key] = party
        self._items.move_to_end(key)
        if len(self._items) > self._max:
            self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Failure:
    """A message that cannot be processed: dead-letter it (kind: invalid | crash)."""

    message: Message
    error: BaseException
    kind: str
    value: bytes | None = None  # the bytes to keep, when not the message's own (parked)


@dataclass(slots=True)
class BatchOutcome:
    """What one batch produced: pops go out first, then the other outputs, then the dead
    letters; parked events are released only once all of those are acknowledged."""

    pops: list[Outgoing] = field(default_factory=list)
    outputs: list[Outgoing] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    release: list[tuple[str, str]] = field(default_factory=list)
    unfolded: set[int] = field(default_factory=set)  # ids of items whose fold failed


@dataclass(frozen=True, slots=True)
class _Item:
    message: Message
    event: InteractionEvent
    raw: bytes


@dataclass(frozen=True, slots=True)
class _Resolved:
    item: _Item
    party: Party

    @property
    def record(self) -> PartyInteraction:
        return rekeyed(self.party, self.item.event).value  # type: ignore[return-value]

    @property
    def key(self) -> EntryKey:
        event = self.item.event
        return (event.tenant_id, self.party.token, event.interaction_id)


async def run_batch(messages: Sequence[Message], deps: Deps, cache: PartyCache) -> BatchOutcome:
    """Decode once, resolve parties, fold the batch into Redis in one pipelined write, then
    decide pops (first), pre-warms, by-party records and activities on the merged entries.

    Raises only the transient errors (RETRYABLE): the caller retries the whole batch, which
    is safe because every step is idempotent (first-writer party links, the fold, output
    ids derived from their cause)."""
    out = BatchOutcome()
    await deps.ready(m.value or b"" for m in messages)  # registry look-ups off the loop
    items = _decode(messages, deps, out)
    resolved = await _resolve(items, deps, cache, out)
    entries = await _fold(resolved, deps, out)
    folded = [r for r in resolved if r.key in entries and id(r.item) not in out.unfolded]
    live = [r for r in folded if entries[r.key] is not None]
    out.pops = await _pops(live, entries, deps, out)
    out.outputs = [rekeyed(r.party, r.item.event) for r in folded]
    out.outputs += await _activities(live, entries, deps, out)
    return out


def _decode(messages: Sequence[Message], deps: Deps, out: BatchOutcome) -> list[_Item]:
    items = []
    now = from_ms(deps.clock_ms())
    limits = _limits(deps.settings.max_future_seconds)
    for message in messages:
        raw = message.value or b""
        try:
            record = deps.decode(raw)
            if not isinstance(record, INTERACTION_EVENT_TYPES):
                msg = f"{type(record).__name__} does not belong on this topic"
                raise SchemaError(msg)
            # Implausible values (a year 1 timestamp, a negative duration) are refused here,
            # with the original bytes, before they reach the fold or the entry encoding.
            validate(record, limits, now=now)
        except RETRYABLE:
            raise
        except C360Error as exc:
            out.failures.append(Failure(message, exc, "invalid"))
            continue
        except Exception as exc:
            log.exception("decode_crashed")
            out.failures.append(Failure(message, exc, "crash"))
            continue
        items.append(_Item(message, cast("InteractionEvent", record), raw))
    return items


async def _resolve(
    items: list[_Item], deps: Deps, cache: PartyCache, out: BatchOutcome
) -> list[_Resolved]:
    """Every event with its interaction's stored party; events of interactions with no
    known party yet are parked (in order) until one names the customer."""
    own: list[tuple[_Item, Party | None]] = []
    known: dict[tuple[str, str], Party] = {}
    claims: dict[tuple[str, str], Party] = {}
    for item in items:
        event, key = item.event, (item.event.tenant_id, item.event.interaction_id)
        address = customer_address(event)
        party = None
        if address is not None:
            try:
                party = party_for(event, address, deps.settings)
            except C360Error as exc:
                out.failures.append(Failure(item.message, exc, "invalid"))
                continue
        own.append((item, party))
        if key in known or key in claims:
            continue
        cached = cache.get(key)
        if cached is not None:
            known[key] = cached
        elif party is not None:
            claims[key] = party
    unknown = list(dict.fromkeys(k for it, p in own if p is None for k in [_ikey(it)]))
    unknown = [k for k in unknown if k not in known and k not in claims]
    claimed, looked = await asyncio.gather(
        deps.parties.claim_many([(iid, party) for (_t, iid), party in claims.items()]),
        deps.parties.lookup_many(unknown),
    )
    drained: dict[tuple[str, str], list[_Item]] = {}
    for key, result in zip(claims, claimed, strict=True):
        known[key] = result.party
        cache.put(key, result.party)
        if result.parked:
            out.release.append(key)
            await deps.ready(result.parked)
            drained[key] = _decode_parked(result.parked, own, key, deps, out)
    for key, found in zip(unknown, looked, strict=True):
        if found is not None:
            known[key] = found
            cache.put(key, found)
    resolved: list[_Resolved] = []
    parks: list[tuple[str, str, bytes]] = []
    for item, _party in own:
        key = _ikey(item)
        party = known.get(key)
        if party is None:
            parks.append((key[0], key[1], item.raw))
            continue
        resolved.append(_Resolved(item, party))
        resolved += [_Resolved(earlier, party) for earlier in drained.pop(key, [])]
    await deps.parties.park_many(parks)
    return resolved


def _ikey(item: _Item) -> tuple[str, str]:
    return (item.event.tenant_id, item.event.interaction_id)


@functools.lru_cache(maxsize=8)
def _limits(max_future_seconds: int) -> Limits:
    return Limits(max_ahead=timedelta(seconds=max_future_seconds))


def _decode_parked(
    parked: Sequence[bytes],
    own: list[tuple[_Item, Party | None]],
    key: tuple[str, str],
    deps: Deps,
    out: BatchOutcome,
) -> list[_Item]:
    # A parked event is dead-lettered with its own bytes, at the coordinates of the message
    # that released it (its own offset was acknowledged when it was parked).
    trigger = next(it.message for it, _p in own if _ikey(it) == key)
    items = []
    for raw in parked:
        try:
            record = deps.decode(raw)
            items.append(_Item(trigger, cast("InteractionEvent", record), raw))
        except RETRYABLE:
            raise
        except Exception as exc:
            out.failures.append(Failure(trigger, exc, "invalid", value=raw))
    return items


async def _fold(
    resolved: list[_Resolved], deps: Deps, out: BatchOutcome
) -> dict[EntryKey, InteractionEntry | None]:
    """Join the batch's events per interaction in memory, then one store write per
    interaction; a write that fails for a data reason dead-letters that interaction's
    events and leaves the rest of the batch alone."""
    groups: dict[EntryKey, InteractionEntry] = {}
    members: dict[EntryKey, list[_Resolved]] = {}
    for r in resolved:
        try:
            partial = entry_of(r.item.event)
        except Exception as exc:
            out.failures.append(Failure(r.item.message, exc, "invalid", value=r.item.raw))
            out.unfolded.add(id(r.item))
            continue
        key = r.key
        groups[key] = merge(groups[key], partial) if key in groups else partial
        members.setdefault(key, []).append(r)
    keys = list(groups)
    now = deps.clock_ms()
    try:
        merged = await merge_many(deps.timeline, [(k[0], k[1], groups[k]) for k in keys], now)
        return dict(zip(keys, merged, strict=True))
    except RETRYABLE:
        raise
    except Exception:
        log.warning("batch_write_failed_isolating")
    result: dict[EntryKey, InteractionEntry | None] = {}
    for key in keys:
        try:
            [result[key]] = await merge_many(deps.timeline, [(key[0], key[1], groups[key])], now)
        except RETRYABLE:
            raise
        except Exception as exc:
            log.exception("entry_write_crashed")
            kind = "invalid" if isinstance(exc, C360Error | ValueError) else "crash"
            for r in members[key]:
                out.failures.append(Failure(r.item.message, exc, kind, value=r.item.raw))
    return result


async def merge_many(
    store: TimelineStore, items: list[tuple[str, str, InteractionEntry]], now_ms: int
) -> list[InteractionEntry | None]:
    """The store's batch write (one pipelined round trip), or concurrent single writes."""
    batch = getattr(store, "merge_many", None)
    if batch is not None:
        return list(await batch(items, now_ms))
    return list(await asyncio.gather(*(store.merge_entry(t, p, e, now_ms) for t, p, e in items)))


async def _pops(
    live: list[_Resolved],
    entries: dict[EntryKey, InteractionEntry | None],
    deps: Deps,
    out: BatchOutcome,
) -> list[Outgoing]:
    """Agent pops first (interactions concurrently, events of one interaction in order),
    then the pre-warms of interactions that did not pop in this batch."""
    pops_by_key: dict[EntryKey, list[_Resolved]] = {}
    prewarms: dict[EntryKey, _Resolved] = {}
    for r in live:
        if is_prewarm(r.item.event):
            prewarms[r.key] = r
        else:
            pops_by_key.setdefault(r.key, []).append(r)

    # Interactions render concurrently (their Redis reads overlap), but boundedly: a
    # 500-event batch must not open a connection per pop.
    gate = asyncio.Semaphore(POP_CONCURRENCY)

    async def run(rs: list[_Resolved]) -> list[Outgoing]:
        async with gate:
            return await run_in_order(rs)

    async def run_in_order(rs: list[_Resolved]) -> list[Outgoing]:
        found: list[Outgoing] = []
        memo: PanelMemo = {}
        for r in rs:
            entry = entries[r.key]
            assert entry is not None
            try:
                found += await pop_for_entry(r.record, entry, deps, memo)
            except RETRYABLE:
                raise
            except Exception as exc:
                log.exception("screen_pop_crashed")
                out.failures.append(Failure(r.item.message, exc, "crash", value=r.item.raw))
        return found

    results = await asyncio.gather(*(run(rs) for rs in pops_by_key.values()))
    pops = [o for found in results for o in found]
    popped = {k for k, found in zip(pops_by_key, results, strict=True) if found}
    later = [r for k, r in prewarms.items() if k not in popped]
    await asyncio.gather(*(run([r]) for r in later))
    return pops


async def _activities(
    live: list[_Resolved],
    entries: dict[EntryKey, InteractionEntry | None],
    deps: Deps,
    out: BatchOutcome,
) -> list[Outgoing]:
    """Rules evaluated once per interaction on its merged entry (the latest revision);
    interactions with activities read their link concurrently (bounded like the pops)."""
    last: dict[EntryKey, _Resolved] = {r.key: r for r in live}
    gate = asyncio.Semaphore(POP_CONCURRENCY)

    async def one(r: _Resolved) -> list[Outgoing]:
        entry = entries[r.key]
        assert entry is not None
        try:
            async with gate:
                return await activities_for_entry(r.record, entry, deps)
        except RETRYABLE:
            raise
        except Exception as exc:
            log.exception("activity_rules_crashed")
            out.failures.append(Failure(r.item.message, exc, "crash", value=r.item.raw))
            return []

    found = await asyncio.gather(*(one(r) for r in last.values()))
    return [o for outs in found for o in outs]
