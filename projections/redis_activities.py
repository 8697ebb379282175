"""RedisInteractionActivities: an interaction's emitted activities and CRM choice, one hash."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from core.activity_log import (
    MAX_PER_INTERACTION,
    ActivityLog,
    CrmChoice,
    in_order,
    latest,
    slot_of,
)
from projections.keys import Keys
from projections.redis_profiles import redis_errors
from schemas import codec
from schemas.records import ActivityRequested

# Fields "a:<slot>" -> "<revision> <Avro bytes>" and "c:<event id>" -> "<at ms> <crm>".
# A field is replaced only by an equal or higher revision; a new field only while the hash
# has fewer than ARGV[1] fields. ARGV: max, ttl, then (field, revision, value) triples.
_PUT = """
local added = 0
for i = 3, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur then
    if tonumber(string.match(cur, '^(%d+) ')) <= tonumber(ARGV[i + 1]) then
      redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    end
  elseif redis.call('HLEN', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    added = added + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return added
"""


class RedisInteractionActivities:
    """InteractionActivities on Redis: one hash in the interaction's slot, expiring with the
    timeline retention (`ttl_seconds`)."""

    def __init__(self, client: aioredis.Redis, keys: Keys, ttl_seconds: int,
                 max_items: int = MAX_PER_INTERACTION) -> None:
        self._redis = client
        self._keys = keys
        self._ttl = ttl_seconds
        self._max = max_items
        self._put = client.register_script(_PUT)

    async def _write(self, tenant_id: str, interaction_id: str,
                     triples: list[tuple[str, int, bytes]]) -> None:
        if not triples:
            return
        argv: list[str | int | bytes] = [self._max, self._ttl]
        for name, revision, value in triples:
            argv += [name, revision, b"%d " % revision + value]
        with redis_errors():
            await self._put(keys=[self._keys.interaction_activities(tenant_id, interaction_id)],
                            args=argv)

    async def put(self, tenant_id: str, interaction_id: str,
                  activities: Sequence[ActivityRequested]) -> None:
        await self._write(tenant_id, interaction_id, [
            (f"a:{slot_of(a)}", a.revision, codec.encode(a)) for a in activities])

    async def choose(self, tenant_id: str, interaction_id: str, choice: CrmChoice) -> None:
        await self._write(tenant_id, interaction_id,
                          [(f"c:{choice.event_id}", choice.at_ms, choice.crm.encode())])

    async def read(self, tenant_id: str, interaction_id: str) -> ActivityLog:
        with redis_errors():
            flat = await self._redis.hgetall(
                self._keys.interaction_activities(tenant_id, interaction_id))
        found: dict[str, ActivityRequested] = {}
        choices: list[CrmChoice] = []
        for raw_name, raw in flat.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
            value = raw if isinstance(raw, bytes) else raw.encode()
            head, _, body = value.partition(b" ")
            if name.startswith("c:"):
                choices.append(CrmChoice(body.decode(), int(head), name[2:]))
            elif name.startswith("a:"):
                record = codec.decode(body)
                if isinstance(record, ActivityRequested):
                    found[name[2:]] = record
        return ActivityLog(tuple(found[s] for s in sorted(found)), latest(choices),
                           in_order(choices))
