"""Null twins of the store ports, for a deployment that switches a part off (no local CRM
directory): every port stays present, so callers carry no `is None` branches."""

from __future__ import annotations

from collections.abc import Sequence

from core.links import LinkAction, LinkMark
from core.ports import Party, UpsertResult
from core.profiles import OwnershipChange, Profile


class NullProfileDirectory:
    """ProfileDirectory of the "no local CRM" deployment: knows no profile, keeps none."""

    async def upsert(self, profile: Profile) -> UpsertResult:
        return UpsertResult("unchanged")

    async def get(self, tenant_id: str, profile_id: str) -> Profile | None:
        return None

    async def get_many(self, tenant_id: str, profile_ids: Sequence[str]) -> dict[str, Profile]:
        return {}

    async def known(self, tenant_id: str, profile_ids: Sequence[str]) -> set[str]:
        return set()

    async def lookup(self, tenant_id: str, token: str) -> list[str]:
        return []

    async def lookup_many(self, tenant_id: str, tokens: Sequence[str]) -> list[list[str]]:
        return [[] for _ in tokens]

    async def tokens_of(self, tenant_id: str, profile_id: str) -> list[str]:
        return []

    async def ownership_log(self, tenant_id: str, token: str) -> list[OwnershipChange]:
        return []


class NullInteractionLinks:
    """InteractionLinks without a directory: no interaction is ever linked to a profile."""

    async def record(
        self, tenant_id: str, interaction_id: str, token: str | None, action: LinkAction
    ) -> list[LinkAction]:
        return []

    async def actions(self, tenant_id: str, interaction_id: str) -> list[LinkAction]:
        return []

    async def token_of(self, tenant_id: str, interaction_id: str) -> str | None:
        return None

    async def mark(self, tenant_id: str, profile_id: str, mark: LinkMark) -> None:
        return None

    async def marks(self, tenant_id: str, profile_id: str) -> list[LinkMark]:
        return []


class NullPopCache:
    """PopCache without a directory: nothing is pre-warmed, every pop renders its panel."""

    async def put(self, tenant_id: str, interaction_id: str, doc: str, ttl_seconds: int) -> None:
        return None

    async def get(self, tenant_id: str, interaction_id: str) -> str | None:
        return None


class NullPartyLookup:
    """The read model's party lookup where no party records are kept: none is known."""

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        return None


class NullProfileSearchIndex:
    """ProfileSearchIndex without a directory: indexes nothing, finds nothing."""

    async def replace(
        self, tenant_id: str, profile_id: str, stamp: tuple[int, str], terms: frozenset[str]
    ) -> bool:
        return False

    async def search(
        self, tenant_id: str, groups: Sequence[Sequence[str]], limit: int
    ) -> list[str]:
        return []
