"""What the desktop's search and profile routes work with: the profile directory and its
search index (Redis), the tenant configs, and the CRM adapters built as the sink worker
builds them (connectors.crm.worker.adapter_factory), opened on first use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import structlog

from connectors.crm.errors import CrmUnavailable
from connectors.crm.routing import CrmRouting
from core.crm.ports import CrmAdapter
from core.layouts import LayoutConfig
from core.ports import ProfileDirectory, ProfileSearchIndex
from core.profile_schema import ProfileConfig

log = structlog.get_logger("c360.gateway.desk")
SEARCH_LIMIT = 20
CRM_SEARCH_LIMIT = 10
CRM_TIMEOUT_SECONDS = 4.0
Opener = Callable[[], AbstractAsyncContextManager[Mapping[str, CrmAdapter]]]


class CrmDesk:
    """The tenant's CRM (routing file / C360_CRM_DEFAULT) and its adapter. The adapters open
    on first use (a CRM that is not configured then answers CrmUnavailable per request:
    the web process starts without CRM credentials)."""

    def __init__(
        self,
        routing: CrmRouting,
        adapters: Mapping[str, CrmAdapter] | None = None,
        opener: Opener | None = None,
    ) -> None:
        self.routing = routing
        self._adapters = dict(adapters) if adapters is not None else None
        self._opener = opener
        self._stack = contextlib.AsyncExitStack()
        self._failure: str | None = None
        self._opening = asyncio.Lock()  # concurrent first searches open the adapters once

    def crm_for(self, tenant_id: str, agent_id: str) -> str | None:
        """The CRM an agent's desktop searches and creates contacts in (None: no CRM)."""
        return self.routing.crm_for(tenant_id, agent_id, None)

    async def adapter(self, name: str) -> CrmAdapter:
        """The adapter of CRM `name`; CrmUnavailable when it cannot be built."""
        if self._adapters is None and self._failure is None and self._opener is not None:
            async with self._opening:
                if self._adapters is None and self._failure is None:
                    await self._open(self._opener)
        found = (self._adapters or {}).get(name)
        if found is None:
            why = self._failure or "not configured for this deployment"
            raise CrmUnavailable(f"{name}: {why}", crm=name)
        return found

    async def _open(self, opener: Opener) -> None:
        try:
            self._adapters = dict(await self._stack.enter_async_context(opener()))
        except Exception as exc:  # a misconfigured CRM must not take the desk down
            self._failure = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("desk_crm_unavailable", error=self._failure)

    async def close(self) -> None:
        """Close the adapters and their HTTP session."""
        await self._stack.aclose()


@dataclass(frozen=True, slots=True)
class ProfileDesk:
    """The desktop's profile side: directory, search index, tenant configs, CRMs."""

    profiles: ProfileDirectory
    search: ProfileSearchIndex
    pepper: bytes
    region_for: Callable[[str], str]
    contacts_topic: str
    crms: CrmDesk
    schemas: ProfileConfig = field(default_factory=ProfileConfig)
    layouts: LayoutConfig = field(default_factory=LayoutConfig)
    search_limit: int = SEARCH_LIMIT
    crm_search_limit: int = CRM_SEARCH_LIMIT
    crm_timeout_seconds: float = CRM_TIMEOUT_SECONDS
    on_close: Callable[[], Awaitable[object]] | None = None  # e.g. its Redis client's

    async def close(self) -> None:
        """Close the CRM adapters and what the desk owns."""
        await self.crms.close()
        if self.on_close is not None:
            await self.on_close()
