"""GET /v1/desktop/crms: the CRMs an agent may log an interaction to, and its choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.crm.routing import CrmRouting
from core.activity_log import InteractionActivities


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
