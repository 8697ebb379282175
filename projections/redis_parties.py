"""RedisInteractionParties: interaction -> party links and parked events, in Redis."""

from __future__ import annotations

import json
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import StoreUnavailable
from core.ports import ClaimResult, Party
from projections.keys import Keys

_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class RedisInteractionParties:
    """InteractionParties on Redis; links and parked events expire after `ttl_seconds`."""

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds

    async def remember(self, interaction_id: str, party: Party) -> None:
        doc = _dumps(party)
        key = self._keys.interaction_party(party.tenant_id, interaction_id)
        try:
            await self._redis.set(key, doc, nx=True, ex=self._ttl)
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def lookup(self, tenant_id: str, interaction_id: str) -> Party | None:
        try:
            raw = await self._redis.get(self._keys.interaction_party(tenant_id, interaction_id))
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        return None if raw is None else _loads(tenant_id, raw)

    async def park(self, tenant_id: str, interaction_id: str, raw: bytes) -> None:
        key = self._keys.interaction_parked(tenant_id, interaction_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, raw)
                pipe.expire(key, self._ttl)
                await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def drain(self, tenant_id: str, interaction_id: str) -> list[bytes]:
        key = self._keys.interaction_parked(tenant_id, interaction_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.lrange(key, 0, -1)
                pipe.delete(key)
                items, _ = await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        return list(items)

    async def claim_many(self, claims: Sequence[tuple[str, Party]]) -> list[ClaimResult]:
        # Three commands per interaction, pipelined for the whole batch: SET NX keeps the
        # first writer, GET reads who won, LRANGE looks at parked events (removed later by
        # release_parked, once the caller's outputs are acknowledged).
        if not claims:
            return []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for interaction_id, party in claims:
                    key = self._keys.interaction_party(party.tenant_id, interaction_id)
                    pipe.set(key, _dumps(party), nx=True, ex=self._ttl)
                    pipe.get(key)
                    parked = self._keys.interaction_parked(party.tenant_id, interaction_id)
                    pipe.lrange(parked, 0, -1)
                replies = await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        out = []
        for i, (_iid, party) in enumerate(claims):
            stored, parked = replies[3 * i + 1], replies[3 * i + 2]
            winner = party if stored is None else _loads(party.tenant_id, stored)
            out.append(ClaimResult(winner, tuple(parked)))
        return out

    async def lookup_many(self, items: Sequence[tuple[str, str]]) -> list[Party | None]:
        if not items:
            return []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for tenant_id, interaction_id in items:
                    pipe.get(self._keys.interaction_party(tenant_id, interaction_id))
                replies = await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        return [
            None if raw is None else _loads(tenant_id, raw)
            for (tenant_id, _iid), raw in zip(items, replies, strict=True)
        ]

    async def park_many(self, items: Sequence[tuple[str, str, bytes]]) -> None:
        if not items:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for tenant_id, interaction_id, raw in items:
                    key = self._keys.interaction_parked(tenant_id, interaction_id)
                    pipe.rpush(key, raw)
                    pipe.expire(key, self._ttl)
                await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc

    async def release_parked(self, items: Sequence[tuple[str, str]]) -> None:
        if not items:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for tenant_id, interaction_id in items:
                    pipe.delete(self._keys.interaction_parked(tenant_id, interaction_id))
                await pipe.execute()
        except _INFRA_ERRORS as exc:
            raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc


def _dumps(party: Party) -> str:
    return json.dumps(
        [party.token, party.kind, party.value, party.internal, party.normalizer_version]
    )


def _loads(tenant_id: str, raw: bytes | str) -> Party:
    token, kind, value, internal, version = json.loads(raw)
    return Party(tenant_id, token, kind, value, bool(internal), version)
