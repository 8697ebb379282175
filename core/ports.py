"""Ports (Protocols) of the read-model stores; adapters: redis_*.py, twins: memory.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.links import LinkAction, LinkMark
from core.profiles import OwnershipChange, Profile, Stamp
from core.timeline import InteractionEntry
from schemas.records import InteractionEvent


@dataclass(frozen=True, slots=True)
class Party:
    """Who an interaction is with: tenant + keyed-hash token (+ normalized value, never logged)."""

    tenant_id: str
    token: str
    kind: str
    value: str | None = None
    internal: bool = False
    normalizer_version: str = ""


class TimelineStore(Protocol):
    """Per-party timelines of interaction entries."""

    # Compare-and-set losses against another writer (each cost a retry of its items, never
    # a lost event); expected to stay near 0 while one worker owns each interaction.
    conflicts: int

    async def apply(
        self, tenant_id: str, token: str, event: InteractionEvent, now_ms: int
    ) -> InteractionEntry | None:
        """Fold one event into the party's entry and index; idempotent, order-insensitive.

        Returns the merged entry, or None when the interaction is outside retention (it
        started before the window, or the per-channel cap evicted it: a tombstone absorbs
        its late events so they cannot resurrect a partial entry). Raises StoreUnavailable
        when the store cannot be reached (nothing was written, or the write is safe to
        repeat).
        """
        ...

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        """`apply` for a partial entry: one event's, or several events pre-merged by a
        batch (replays fold a batch in memory first, then write once per interaction)."""
        ...

    async def merge_many(
        self, items: Sequence[tuple[str, str, InteractionEntry]], now_ms: int
    ) -> list[InteractionEntry | None]:
        """`merge_entry` of many (tenant id, party token, partial entry) items at once.

        Results are aligned with `items`, with `merge_entry`'s meaning (the merged stored
        entry, or None when outside retention, tombstoned or the party erased). Items may
        repeat an interaction: they are merged first, and each gets the final entry. On
        Redis: one pipelined round trip, one script call per party (retries only for
        compare-and-set losers, counted in the store's `conflicts`). Raises
        StoreUnavailable like `apply` (the whole batch is then safe to repeat).
        """
        ...

    async def read(
        self,
        tenant_id: str,
        token: str,
        channels: Sequence[str],
        now_ms: int,
        limit: int,
        before_ms: int | None = None,
    ) -> list[InteractionEntry]:
        """Newest-first entries of the given channels inside the retention window.

        `before_ms` pages: only entries that started strictly before it. Never returns an
        entry outside the window, even before expiry has removed it.
        """
        ...

    async def get(self, tenant_id: str, token: str, interaction_id: str) -> InteractionEntry | None:
        """One entry, or None."""
        ...


class InteractionParties(Protocol):
    """Which party each interaction belongs to, and events parked until that is known."""

    async def remember(self, interaction_id: str, party: Party) -> None:
        """Record the interaction's party (first writer wins; later calls are no-ops)."""
        ...

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        """The interaction's party, or None when no event with an address was seen yet."""
        ...

    async def park(self, tenant_id: str, interaction_id: str, raw: bytes) -> None:
        """Keep an event whose party is unknown until `drain` releases it."""
        ...

    async def drain(self, tenant_id: str, interaction_id: str) -> list[bytes]:
        """Take (and remove) every parked event of the interaction, oldest first."""
        ...

    async def claim_many(self, claims: Sequence[tuple[str, Party]]) -> list[ClaimResult]:
        """`remember` + `lookup` + a look at the parked events for many interactions in one
        round trip: (interaction id, party) in, the stored party (first writer wins) and the
        events parked for it out, in order. Parked events stay until `release_parked`, so
        a crash before the caller's outputs are out cannot lose them."""
        ...

    async def lookup_many(self, items: Sequence[tuple[str, str]]) -> list[Party | None]:
        """`lookup` of many (tenant id, interaction id) pairs in one round trip, in order."""
        ...

    async def park_many(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        """`park` of many (tenant id, interaction id, raw event) in one round trip, in order."""
        ...

    async def release_parked(self, items: Sequence[tuple[str, str]]) -> None:
        """Remove the parked events of these (tenant id, interaction id) pairs."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """What `claim_many` found for one interaction: its party and its parked events."""

    party: Party
    parked: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What a directory upsert did: created | updated | unchanged | stale (older, ignored)."""

    status: str
    changes: tuple[OwnershipChange, ...] = ()


class ProfileDirectory(Protocol):
    """Profiles by id, and identifier tokens -> profiles (uniqueness policy per tenant)."""

    async def upsert(self, profile: Profile) -> UpsertResult:
        """Store the profile if it is not older than the stored one; claim/release its
        identifier tokens (atomic per token) and record exclusive-ownership changes."""
        ...

    async def get(self, tenant_id: str, profile_id: str) -> Profile | None:
        """The live profile, or None (unknown or deleted)."""
        ...

    async def get_many(self, tenant_id: str, profile_ids: Sequence[str]) -> dict[str, Profile]:
        """Live profiles by id (missing and deleted ones are left out)."""
        ...

    async def known(self, tenant_id: str, profile_ids: Sequence[str]) -> set[str]:
        """The ids of live profiles among `profile_ids` (one round trip per batch)."""
        ...

    async def lookup(self, tenant_id: str, token: str) -> list[str]:
        """Profile ids an identifier token resolves to, newest claim first."""
        ...

    async def lookup_many(self, tenant_id: str, tokens: Sequence[str]) -> list[list[str]]:
        """`lookup` of many tokens in one round trip, in order."""
        ...

    async def tokens_of(self, tenant_id: str, profile_id: str) -> list[str]:
        """The identifier tokens that resolve to this profile (lost exclusive ones excluded)."""
        ...

    async def ownership_log(self, tenant_id: str, token: str) -> list[OwnershipChange]:
        """Exclusive-ownership changes of one identifier, newest first."""
        ...


class ProfileSearchIndex(Protocol):
    """Keyed-hash search terms (core.profile_search) -> profile ids, per tenant."""

    async def replace(
        self, tenant_id: str, profile_id: str, stamp: Stamp, terms: frozenset[str]
    ) -> bool:
        """Make `terms` the profile's terms (stale ones removed), unless the index already
        holds a newer stamp of the profile; True when applied. Idempotent; an empty set
        (a deleted profile) removes the profile from the index."""
        ...

    async def search(
        self, tenant_id: str, groups: Sequence[Sequence[str]], limit: int
    ) -> list[str]:
        """Profiles having every term of a group, for each group in turn, merged without
        repeats, at most `limit`."""
        ...


class InteractionLinks(Protocol):
    """Interaction -> profile link actions, and per-profile marks of relinked interactions."""

    async def record(
        self, tenant_id: str, interaction_id: str, token: str | None, action: LinkAction
    ) -> list[LinkAction]:
        """Add one action (idempotent by event id); returns every action of the interaction."""
        ...

    async def actions(self, tenant_id: str, interaction_id: str) -> list[LinkAction]:
        """Every recorded action of the interaction."""
        ...

    async def token_of(self, tenant_id: str, interaction_id: str) -> str | None:
        """The party token recorded with the interaction's actions."""
        ...

    async def mark(self, tenant_id: str, profile_id: str, mark: LinkMark) -> None:
        """Set how one interaction shows in the profile's timeline (idempotent)."""
        ...

    async def marks(self, tenant_id: str, profile_id: str) -> list[LinkMark]:
        """Every mark of the profile."""
        ...


class PopCache(Protocol):
    """Pre-warmed screen-pop views per interaction (short-lived)."""

    async def put(self, tenant_id: str, interaction_id: str, doc: str, ttl_seconds: int) -> None:
        """Store (replace) the interaction's pre-warmed pop."""
        ...

    async def get(self, tenant_id: str, interaction_id: str) -> str | None:
        """The pre-warmed pop, or None."""
        ...
