"""In-memory twins of the profile directory, interaction links and pop cache (same contracts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from core.links import LinkAction, LinkMark
from core.ports import UpsertResult
from core.profile_schema import SHARED
from core.profiles import (
    OwnershipChange,
    Profile,
    claim_exclusive,
    owners,
    plan_upsert,
    stamp_key,
)

OWNER_LOG_CAP = 50


def touch_claims(
    claims: dict[str, str], op: str, profile_id: str, stamp: str
) -> tuple[str | None, str | None]:
    """Claim or release one token in a claims map; (owner before, owner after).

    The same steps as the Redis script (projections/redis_profiles.py _CLAIM): an older
    claim never overwrites a newer one, and a release only removes a claim not newer
    than itself.
    """
    before = owners(claims, exclusive=True)
    current = claims.get(profile_id)
    if op == "claim":
        if current is None or current < stamp:
            claims[profile_id] = stamp
    elif current is not None and current <= stamp:
        del claims[profile_id]
    after = owners(claims, exclusive=True)
    return (before[0] if before else None), (after[0] if after else None)


class InMemoryProfileDirectory:
    """ProfileDirectory in dicts."""

    def __init__(self, policy_for: Callable[[str], str] = lambda _tenant: SHARED) -> None:
        self._policy_for = policy_for
        self.profiles: dict[tuple[str, str], Profile] = {}
        self.claims: dict[tuple[str, str], dict[str, str]] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        self.log: dict[tuple[str, str], list[OwnershipChange]] = {}

    async def upsert(self, profile: Profile) -> UpsertResult:
        key = (profile.tenant_id, profile.profile_id)
        current = self.profiles.get(key)
        plan = plan_upsert(current, profile)
        if plan is None:
            return UpsertResult("stale")
        stamp = stamp_key(profile.stamp)
        steps = [("claim", t, profile.kind_of(t)) for t in sorted(plan.claim)]
        if current is not None:
            steps += [("release", t, current.kind_of(t)) for t in sorted(plan.release)]
        changes: list[OwnershipChange] = []
        for op, token, kind in steps:
            tkey = (profile.tenant_id, token)
            claims = self.claims.setdefault(tkey, {})
            self.kinds[tkey] = kind or "other"
            before, after = touch_claims(claims, op, profile.profile_id, stamp)
            exclusive = claim_exclusive(self.kinds[tkey], self._policy_for(profile.tenant_id))
            if exclusive and before is not None and before != after:
                change = OwnershipChange(token, profile.stamp[0], profile.stamp[1], before, after)
                changes.append(change)
                self.log.setdefault(tkey, []).insert(0, change)
                del self.log[tkey][OWNER_LOG_CAP:]
            if not claims:
                del self.claims[tkey]
        self.profiles[key] = profile
        return UpsertResult(plan.status, tuple(changes))

    async def get(self, tenant_id: str, profile_id: str) -> Profile | None:
        found = self.profiles.get((tenant_id, profile_id))
        return None if found is None or found.deleted else found

    async def get_many(self, tenant_id: str, profile_ids: Sequence[str]) -> dict[str, Profile]:
        found = {pid: await self.get(tenant_id, pid) for pid in profile_ids}
        return {pid: p for pid, p in found.items() if p is not None}

    async def known(self, tenant_id: str, profile_ids: Sequence[str]) -> set[str]:
        return set(await self.get_many(tenant_id, profile_ids))

    async def lookup(self, tenant_id: str, token: str) -> list[str]:
        claims = self.claims.get((tenant_id, token), {})
        kind = self.kinds.get((tenant_id, token), "other")
        return owners(claims, claim_exclusive(kind, self._policy_for(tenant_id)))

    async def lookup_many(self, tenant_id: str, tokens: Sequence[str]) -> list[list[str]]:
        return [await self.lookup(tenant_id, token) for token in tokens]

    async def tokens_of(self, tenant_id: str, profile_id: str) -> list[str]:
        profile = await self.get(tenant_id, profile_id)
        if profile is None:
            return []
        return [
            i.token
            for i in profile.identifiers
            if profile_id in await self.lookup(tenant_id, i.token)
        ]

    async def ownership_log(self, tenant_id: str, token: str) -> list[OwnershipChange]:
        return list(self.log.get((tenant_id, token), []))


class InMemoryInteractionLinks:
    """InteractionLinks in dicts."""

    def __init__(self) -> None:
        self.actions_by: dict[tuple[str, str], dict[str, LinkAction]] = {}
        self.tokens: dict[tuple[str, str], str] = {}
        self.marks_by: dict[tuple[str, str], dict[str, LinkMark]] = {}

    async def record(
        self, tenant_id: str, interaction_id: str, token: str | None, action: LinkAction
    ) -> list[LinkAction]:
        key = (tenant_id, interaction_id)
        self.actions_by.setdefault(key, {})[action.event_id] = action
        if token:
            self.tokens[key] = token
        return await self.actions(tenant_id, interaction_id)

    async def actions(self, tenant_id: str, interaction_id: str) -> list[LinkAction]:
        found = self.actions_by.get((tenant_id, interaction_id), {})
        return sorted(found.values(), key=lambda a: a.event_id)

    async def token_of(self, tenant_id: str, interaction_id: str) -> str | None:
        return self.tokens.get((tenant_id, interaction_id))

    async def mark(self, tenant_id: str, profile_id: str, mark: LinkMark) -> None:
        self.marks_by.setdefault((tenant_id, profile_id), {})[mark.interaction_id] = mark

    async def marks(self, tenant_id: str, profile_id: str) -> list[LinkMark]:
        found = self.marks_by.get((tenant_id, profile_id), {})
        return [found[iid] for iid in sorted(found)]


class InMemoryPopCache:
    """PopCache in a dict; entries expire after their TTL, as Redis's SET EX does."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.docs: dict[tuple[str, str], tuple[str, float]] = {}

    async def put(self, tenant_id: str, interaction_id: str, doc: str, ttl_seconds: int) -> None:
        self.docs[(tenant_id, interaction_id)] = (doc, self._clock() + ttl_seconds)

    async def get(self, tenant_id: str, interaction_id: str) -> str | None:
        found = self.docs.get((tenant_id, interaction_id))
        if found is None or found[1] <= self._clock():
            return None
        return found[0]
