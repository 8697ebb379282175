"""InMemoryAgentTokens: the AgentTokenStore twin (sealed values too, so the contract's
"nothing readable at rest" holds for both)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from core.crm.agent_auth import (
    AgentTokens,
    PendingConnect,
    SealedUnreadable,
    Sealer,
    agent_token,
)


class InMemoryAgentTokens:
    """Dicts of sealed bytes; attempts expire on `clock` (seconds)."""

    def __init__(self, sealer: Sealer, id_key: bytes,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sealer = sealer
        self._id_key = id_key
        self._clock = clock
        self.tokens: dict[tuple[str, str], dict[str, bytes]] = {}
        self.attempts: dict[str, tuple[float, bytes]] = {}

    def _slot(self, tenant: str, agent: str) -> dict[str, bytes]:
        return self.tokens.setdefault((tenant, agent_token(self._id_key, tenant, agent)), {})

    async def get(self, tenant: str, agent: str, crm: str) -> AgentTokens | None:
        slot = self._slot(tenant, agent)
        raw = slot.get(crm)
        if raw is None:
            return None
        try:
            return AgentTokens.from_json(json.loads(self._sealer.open(raw)))
        except (SealedUnreadable, ValueError, KeyError, TypeError):
            slot.pop(crm, None)
            return None

    async def put(self, tenant: str, agent: str, crm: str, tokens: AgentTokens) -> None:
        self._slot(tenant, agent)[crm] = self._sealer.seal(json.dumps(tokens.to_json()).encode())

    async def delete(self, tenant: str, agent: str, crm: str) -> bool:
        return self._slot(tenant, agent).pop(crm, None) is not None

    async def connected(self, tenant: str, agent: str) -> frozenset[str]:
        return frozenset(self._slot(tenant, agent))

    async def begin(self, nonce: str, pending: PendingConnect, ttl_seconds: int) -> None:
        sealed = self._sealer.seal(json.dumps(pending.to_json()).encode())
        self.attempts[nonce] = (self._clock() + ttl_seconds, sealed)

    async def take(self, nonce: str) -> PendingConnect | None:
        found = self.attempts.pop(nonce, None)
        if found is None or self._clock() >= found[0]:
            return None
        return PendingConnect.from_json(json.loads(self._sealer.open(found[1])))
