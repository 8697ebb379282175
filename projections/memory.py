"""In-memory twins of the stores (unit tests, handler tests); same contract suite as Redis."""

from __future__ import annotations

from collections.abc import Sequence

from core.ports import ClaimResult, Party
from core.timeline import InteractionEntry, Retention, entry_of, merge
from schemas.records import InteractionEvent


class InMemoryTimelineStore:
    """TimelineStore in a dict, trimming as the Redis script does (eagerly, where Redis
    trims when due: reads cannot tell the difference, both filter by the window)."""

    def __init__(self, retention: Retention | None = None) -> None:
        self._retention = retention or Retention()
        self.entries: dict[tuple[str, str, str], InteractionEntry] = {}
        self.index: dict[tuple[str, str, str], dict[str, int]] = {}
        self.tombstones: set[tuple[str, str, str]] = set()
        self.writes = 0
        self.conflicts = 0  # one writer, no compare-and-set: always 0 (RedisTimelineStore)

    async def apply(
        self, tenant_id: str, token: str, event: InteractionEvent, now_ms: int
    ) -> InteractionEntry | None:
        return await self.merge_entry(tenant_id, token, entry_of(event), now_ms)

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        """Join a partial entry into the stored one (see RedisTimelineStore.merge_entry)."""
        [result] = await self.merge_many([(tenant_id, token, partial)], now_ms)
        return result

    async def merge_many(
        self, items: Sequence[tuple[str, str, InteractionEntry]], now_ms: int
    ) -> list[InteractionEntry | None]:
        """`merge_entry` of many items; repeats of an interaction are merged first, and the
        results are read after the whole batch (as the Redis script's cap sees it)."""
        batch: dict[tuple[str, str, str], InteractionEntry] = {}
        for tenant_id, token, partial in items:
            key = (tenant_id, token, partial.interaction_id)
            prior = batch.get(key)
            batch[key] = partial if prior is None else merge(prior, partial)
        for key, partial in batch.items():
            self._merge(key, partial, now_ms)
        floor = now_ms - self._retention.window_ms
        results: dict[tuple[str, str, str], InteractionEntry | None] = {}
        for key in batch:
            entry = self.entries.get(key)
            results[key] = entry if entry is not None and entry.started_ms >= floor else None
        return [results[(t, p, e.interaction_id)] for t, p, e in items]

    def _merge(self, key: tuple[str, str, str], partial: InteractionEntry, now_ms: int) -> None:
        tenant_id, token, _ = key
        if key in self.tombstones:
            return
        current = self.entries.get(key)
        merged = merge(current, partial)
        if merged == current:
            return
        floor = now_ms - self._retention.window_ms
        if current is None and merged.started_ms < floor:
            self.tombstones.add(key)
            return
        self.writes += 1
        self.entries[key] = merged
        if current is not None and current.channel != merged.channel:
            self.index.get((tenant_id, token, current.channel), {}).pop(merged.interaction_id, None)
        index = self.index.setdefault((tenant_id, token, merged.channel), {})
        index[merged.interaction_id] = merged.started_ms
        evict = [iid for iid, score in index.items() if score < floor]
        ranked = sorted(((score, iid) for iid, score in index.items() if score >= floor))
        evict += [iid for _, iid in ranked[: max(0, len(ranked) - self._retention.max_entries)]]
        for iid in evict:
            index.pop(iid, None)
            self.entries.pop((tenant_id, token, iid), None)
            self.tombstones.add((tenant_id, token, iid))

    async def read(
        self,
        tenant_id: str,
        token: str,
        channels: Sequence[str],
        now_ms: int,
        limit: int,
        before_ms: int | None = None,
    ) -> list[InteractionEntry]:
        floor = now_ms - self._retention.window_ms
        hits = sorted(
            (
                (score, iid)
                for channel in channels
                for iid, score in self.index.get((tenant_id, token, channel), {}).items()
                if score >= floor and (before_ms is None or score < before_ms)
            ),
            reverse=True,
        )[:limit]
        return [self.entries[(tenant_id, token, iid)] for _, iid in hits]

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        return self.entries.get((tenant_id, token, interaction_id))


class InMemoryInteractionParties:
    """InteractionParties in dicts."""

    def __init__(self) -> None:
        self.parties: dict[tuple[str, str], Party] = {}
        self.parked: dict[tuple[str, str], list[bytes]] = {}

    async def remember(self, interaction_id: str, party: Party) -> None:
        self.parties.setdefault((party.tenant_id, interaction_id), party)

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        return self.parties.get((tenant_id, interaction_id))

    async def park(self, tenant_id: str, interaction_id: str, raw: bytes) -> None:
        self.parked.setdefault((tenant_id, interaction_id), []).append(raw)

    async def drain(self, tenant_id: str, interaction_id: str) -> list[bytes]:
        return self.parked.pop((tenant_id, interaction_id), [])

    async def claim_many(self, claims: Sequence[tuple[str, Party]]) -> list[ClaimResult]:
        out = []
        for interaction_id, party in claims:
            key = (party.tenant_id, interaction_id)
            stored = self.parties.setdefault(key, party)
            out.append(ClaimResult(stored, tuple(self.parked.get(key, ()))))
        return out

    async def lookup_many(self, items: Sequence[tuple[str, str]]) -> list[Party | None]:
        return [self.parties.get(item) for item in items]

    async def park_many(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        for tenant_id, interaction_id, raw in items:
            self.parked.setdefault((tenant_id, interaction_id), []).append(raw)

    async def release_parked(self, items: Sequence[tuple[str, str]]) -> None:
        for item in items:
            self.parked.pop(item, None)
