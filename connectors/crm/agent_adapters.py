"""AgentAdapters: the CRM sink's resolver from (CRM, agent) to the adapter that writes as
that agent (their own OAuth token), falling back to the tenant's service credentials."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import aiohttp
import structlog

from connectors.crm.agent_oauth import AgentAuthorizationRevoked, AgentCredential
from connectors.crm.errors import CrmUnavailable
from connectors.crm.factory import build_adapter
from connectors.crm.settings import CrmSettingsSet
from core.crm.agent_auth import AgentTokenStore
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.ports import CrmAdapter
from core.errors import StoreUnavailable
from infra.settings_crm_oauth import CrmOAuthConfig, OAuthApp
from infra.token_crypto import FernetSealer
from projections.keys import Keys
from projections.redis_agent_tokens import RedisAgentTokens
from projections.redis_client import redis_client
from schemas.records import ActivityRequested

log = structlog.get_logger("c360.crm.agent_adapters")
T = TypeVar("T")


class FallbackAdapter:
    """The agent's adapter until the CRM refuses the agent's authorization, then the
    service adapter for the rest of this write (`fell_back` says it happened)."""

    def __init__(self, agent: CrmAdapter, service: CrmAdapter) -> None:
        self.name = service.name
        self._agent = agent
        self._service = service
        self.fell_back = False

    async def _run(self, call: Callable[[CrmAdapter], Awaitable[T]]) -> T:
        if not self.fell_back:
            try:
                return await call(self._agent)
            except AgentAuthorizationRevoked:
                self.fell_back = True
                log.warning("agent_crm_fallback_to_service", crm=self.name)
        return await call(self._service)

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        return await self._run(lambda a: a.find_contact(phone=phone, email=email))

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        return await self._run(lambda a: a.upsert_contact(contact))

    async def upsert_activity(self, request: ActivityRequested, *, contact_id: str | None,
                              existing_activity_id: str | None,
                              previous_contact_id: str | None = None) -> ActivityWrite:
        return await self._run(lambda a: a.upsert_activity(
            request, contact_id=contact_id, existing_activity_id=existing_activity_id,
            previous_contact_id=previous_contact_id))

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        return await self._run(lambda a: a.search_contacts(query, limit=limit))

    async def close(self) -> None:
        await self._agent.close()  # never the service adapter: the worker owns it


class AgentAdapters:
    """adapter_for(crm, request, service): an adapter speaking as the request's agent when
    that agent connected this CRM (per-agent identity on for it), else `service`."""

    def __init__(
        self,
        apps: Mapping[str, OAuthApp],
        store: AgentTokenStore,
        settings: CrmSettingsSet,
        session: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._apps = dict(apps)
        self._store = store
        self._settings = settings
        self._session = session
        self._clock = clock

    async def adapter_for(
        self, crm: str, request: ActivityRequested, service: CrmAdapter
    ) -> CrmAdapter:
        """Raises CrmUnavailable when the token store is down (the worker pauses and
        retries: an agent's write never silently changes author because Redis blinked)."""
        app, agent = self._apps.get(crm), request.agent_id
        if app is None or not agent:
            return service
        try:
            tokens = await self._store.get(request.tenant_id, agent, crm)
        except StoreUnavailable as exc:
            raise CrmUnavailable(f"{crm}: agent token store unavailable", crm=crm) from exc
        if tokens is None:
            return service
        credential = AgentCredential(app=app, store=self._store, tenant=request.tenant_id,
                                     agent=agent, tokens=tokens,
                                     timeout=self._settings.get(crm).timeout_seconds,
                                     clock=self._clock)
        own = build_adapter(crm, self._settings, self._session, credential=credential)
        log.info("agent_crm_identity", crm=crm)
        return FallbackAdapter(own, service)


@contextlib.asynccontextmanager
async def open_agent_adapters(env: Mapping[str, str]) -> AsyncIterator[AgentAdapters | None]:
    """The resolver on Redis (C360_REDIS_URL) with its own HTTP session, or None when no CRM
    has an OAuth app (C360_CRM_<VENDOR>_OAUTH_CLIENT_ID). Raises CrmConfigError."""
    settings = CrmSettingsSet.from_env(env)
    config = CrmOAuthConfig.from_env(env, settings, callbacks=False)
    if not config.enabled:
        yield None
        return
    client = redis_client(config.redis_url)
    store = RedisAgentTokens(client, Keys(config.key_namespace),
                             FernetSealer(config.token_keys), config.id_key)
    try:
        async with aiohttp.ClientSession() as session:
            log.info("agent_crm_identity_enabled", crms=sorted(config.apps))
            yield AgentAdapters(config.apps, store, settings, session)
    finally:
        await client.aclose()
