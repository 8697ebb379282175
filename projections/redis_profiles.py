"""RedisProfileDirectory: profiles as hashes, identifier claims per token (one script each)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import StoreUnavailable
from core.ports import UpsertResult
from core.profile_schema import SHARED
from core.profiles import (
    OwnershipChange,
    Profile,
    claim_exclusive,
    owners,
    plan_upsert,
    profile_from_json,
    profile_to_json,
    stamp_key,
)
from projections.keys import Keys
from projections.memory_profiles import OWNER_LOG_CAP

# Claims of one token live in one hash (field = profile id, value = claim stamp; field ""
# holds the identifier kind), so claim + owner computation + audit run in one script on
# the token's slot: atomic per token, as Redis Cluster allows. The owner is the claimant
# with the largest (stamp, profile id), exactly core.profiles.owners. The profile
# document is written last, after its claims: a crash in between leaves the old document,
# and the redelivered event recomputes the same claims and releases (both idempotent).
_CLAIM = """
local function owner()
  local flat = redis.call('HGETALL', KEYS[1])
  local best, bs = false, nil
  for i = 1, #flat, 2 do
    local p, s = flat[i], flat[i + 1]
    if p ~= '' and (bs == nil or s > bs or (s == bs and p > best)) then best, bs = p, s end
  end
  return best
end
local before = owner()
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if ARGV[1] == 'claim' then
  if (not cur) or cur < ARGV[3] then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3], '', ARGV[5]) end
elseif cur and cur <= ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  if redis.call('HLEN', KEYS[1]) <= 1 then redis.call('DEL', KEYS[1]) end
end
local after = owner()
if ARGV[4] == '1' and before and before ~= after then
  redis.call('LPUSH', KEYS[2], cjson.encode({token = ARGV[8], at_ms = ARGV[6],
    event_id = ARGV[7], from = before, to = after or cjson.null}))
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[9]) - 1)
end
return {before or '', after or ''}
"""
# Write the document only if it is not older than the stored one (a concurrent writer of
# the same profile cannot roll it back).
_SET_PROFILE = """
local cur = redis.call('HGET', KEYS[1], 'stamp')
if cur and cur > ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'stamp', ARGV[1], 'doc', ARGV[2], 'del', ARGV[3])
return 1
"""
_INFRA_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn Redis connection/timeouts into StoreUnavailable (transient: retried in place)."""
    try:
        yield
    except _INFRA_ERRORS as exc:
        raise StoreUnavailable(f"redis unavailable: {type(exc).__name__}") from exc


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisProfileDirectory:
    """ProfileDirectory on Redis; see core.ports.ProfileDirectory for the contract."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        policy_for: Callable[[str], str] = lambda _tenant: SHARED,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._policy_for = policy_for
        self._claim = client.register_script(_CLAIM)
        self._set_profile = client.register_script(_SET_PROFILE)

    async def upsert(self, profile: Profile) -> UpsertResult:
        with redis_errors():
            return await self._upsert(profile)

    async def _upsert(self, profile: Profile) -> UpsertResult:
        tenant, pid = profile.tenant_id, profile.profile_id
        key = self._keys.profile(tenant, pid)
        raw = await self._redis.hget(key, "doc")
        current = profile_from_json(raw) if raw is not None else None
        plan = plan_upsert(current, profile)
        if plan is None:
            return UpsertResult("stale")
        stamp = stamp_key(profile.stamp)
        policy = self._policy_for(tenant)
        steps = [("claim", t, profile.kind_of(t) or "other") for t in sorted(plan.claim)]
        if current is not None:
            steps += [("release", t, current.kind_of(t) or "other") for t in sorted(plan.release)]
        changes: list[OwnershipChange] = []
        if steps:
            async with self._redis.pipeline(transaction=False) as pipe:
                for op, token, kind in steps:
                    exclusive = "1" if claim_exclusive(kind, policy) else "0"
                    await self._claim(
                        keys=[
                            self._keys.identifier_claims(tenant, token),
                            self._keys.identifier_owner_log(tenant, token),
                        ],
                        args=[
                            *(op, pid, stamp, exclusive, kind),
                            *(profile.stamp[0], profile.stamp[1], token, OWNER_LOG_CAP),
                        ],
                        client=pipe,
                    )
                results = await pipe.execute()
            for (_op, token, kind), (before, after) in zip(steps, results, strict=True):
                prev, now = _text(before) or None, _text(after) or None
                if claim_exclusive(kind, policy) and prev is not None and prev != now:
                    changes.append(
                        OwnershipChange(token, profile.stamp[0], profile.stamp[1], prev, now)
                    )
        await self._set_profile(
            keys=[key], args=[stamp, profile_to_json(profile), "1" if profile.deleted else "0"]
        )
        return UpsertResult(plan.status, tuple(changes))

    async def get(self, tenant_id: str, profile_id: str) -> Profile | None:
        return (await self.get_many(tenant_id, [profile_id])).get(profile_id)

    async def _fields(self, tenant_id: str, profile_ids: Sequence[str], name: str) -> list[object]:
        """One field of many profile hashes, in one round trip."""
        if not profile_ids:
            return []
        with redis_errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                for pid in profile_ids:
                    pipe.hget(self._keys.profile(tenant_id, pid), name)
                return list(await pipe.execute())

    async def get_many(self, tenant_id: str, profile_ids: Sequence[str]) -> dict[str, Profile]:
        raws = await self._fields(tenant_id, profile_ids, "doc")
        found = (profile_from_json(raw) for raw in raws if isinstance(raw, bytes | str))
        return {p.profile_id: p for p in found if not p.deleted}

    async def known(self, tenant_id: str, profile_ids: Sequence[str]) -> set[str]:
        flags = await self._fields(tenant_id, profile_ids, "del")
        return {pid for pid, flag in zip(profile_ids, flags, strict=True) if flag in (b"0", "0")}

    async def lookup(self, tenant_id: str, token: str) -> list[str]:
        return (await self.lookup_many(tenant_id, [token]))[0]

    async def lookup_many(self, tenant_id: str, tokens: Sequence[str]) -> list[list[str]]:
        with redis_errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                for token in tokens:
                    pipe.hgetall(self._keys.identifier_claims(tenant_id, token))
                hashes = await pipe.execute()
        policy = self._policy_for(tenant_id)
        found: list[list[str]] = []
        for flat in hashes:
            claims = {_text(k): _text(v) for k, v in flat.items()}
            kind = claims.pop("", "other")
            found.append(owners(claims, claim_exclusive(kind, policy)))
        return found

    async def tokens_of(self, tenant_id: str, profile_id: str) -> list[str]:
        profile = await self.get(tenant_id, profile_id)
        if profile is None:
            return []
        tokens = [i.token for i in profile.identifiers]
        resolved = await self.lookup_many(tenant_id, tokens)
        return [t for t, pids in zip(tokens, resolved, strict=True) if profile_id in pids]

    async def ownership_log(self, tenant_id: str, token: str) -> list[OwnershipChange]:
        key = self._keys.identifier_owner_log(tenant_id, token)
        with redis_errors():
            raws = await self._redis.lrange(key, 0, -1)
        return [OwnershipChange.from_json(raw) for raw in raws]
