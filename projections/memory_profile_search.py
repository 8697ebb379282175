"""InMemoryProfileSearchIndex: the ProfileSearchIndex twin (same contract as the Redis one)."""

from __future__ import annotations

from collections.abc import Sequence

from core.profile_search import merge_ids
from core.profiles import Stamp


class InMemoryProfileSearchIndex:
    """Terms -> profile ids in dicts, per tenant; see core.ports.ProfileSearchIndex."""

    def __init__(self) -> None:
        self.terms: dict[tuple[str, str], set[str]] = {}
        self.profiles: dict[tuple[str, str], tuple[Stamp, frozenset[str]]] = {}

    async def replace(
        self, tenant_id: str, profile_id: str, stamp: Stamp, terms: frozenset[str]
    ) -> bool:
        current = self.profiles.get((tenant_id, profile_id))
        if current is not None and current[0] > stamp:
            return False
        old = current[1] if current is not None else frozenset()
        for term in old - terms:
            members = self.terms.get((tenant_id, term), set())
            members.discard(profile_id)
            if not members:
                self.terms.pop((tenant_id, term), None)
        for term in terms:
            self.terms.setdefault((tenant_id, term), set()).add(profile_id)
        self.profiles[(tenant_id, profile_id)] = (stamp, terms)
        return True

    async def search(
        self, tenant_id: str, groups: Sequence[Sequence[str]], limit: int
    ) -> list[str]:
        found: list[list[str]] = []
        for group in groups:
            sets = [self.terms.get((tenant_id, t), set()) for t in group]
            hits = set.intersection(*sets) if sets else set()
            found.append(sorted(hits)[:limit])
        return merge_ids(found, limit)
