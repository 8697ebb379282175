"""GET /v1/desktop/crms: the CRMs an agent may log an interaction to, and its choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from connectors.crm.agent_oauth import AgentOAuth
from connectors.crm.routing import CrmRouting
from core.activity_log import InteractionActivities


@dataclass(frozen=True, slots=True)
class CrmIdentity:
    """The per-agent connect flow, or None when no CRM has an OAuth app (its routes answer
    404 and no CRM shows as connectable)."""

    oauth: AgentOAuth | None = None


CRM_IDENTITY = web.AppKey("c360_crm_identity", CrmIdentity)


async def connected_of(identity: CrmIdentity | None, tenant: str, agent: str) -> dict[str, bool]:
    """For every CRM with per-agent identity: has this agent connected it? ({} when the
    feature is off). Raises StoreUnavailable."""
    if identity is None or identity.oauth is None:
        return {}
    return await identity.oauth.connected_crms(tenant, agent)


@dataclass(frozen=True, slots=True)
class CrmMenu:
    """The routing file (C360_CRM_ROUTING_FILE / C360_CRM_DEFAULT) and the per-interaction
    activity log the streams process keeps the agent's choose_crm in."""

    routing: CrmRouting
    log: InteractionActivities

    def offered(self, tenant_id: str, agent_id: str) -> list[str]:
        """The CRMs the agent may pick (the default first)."""
        return self.routing.offered(tenant_id, agent_id)

    async def describe(self, tenant_id: str, agent_id: str, interaction_id: str) -> dict[str, Any]:
        """{crms, default, chosen, connected} (connected: per-agent OAuth, filled elsewhere)."""
        book = await self.log.read(tenant_id, interaction_id)
        return {
            "crms": self.offered(tenant_id, agent_id),
            "default": self.routing.crm_for(tenant_id, agent_id, None),
            "chosen": book.choice.crm if book.choice else None,
            "connected": {},
        }


def no_menu() -> dict[str, Any]:
    """The answer of a deployment without CRM routing: no CRM to pick."""
    return {"crms": [], "default": None, "chosen": None, "connected": {}}
