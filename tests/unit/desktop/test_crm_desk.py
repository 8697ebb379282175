"""CrmDesk: the CRM adapters open once, on first use; a CRM that cannot be built is
CrmUnavailable per request (the web process still starts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from connectors.crm.errors import CrmUnavailable
from connectors.crm.memory import InMemoryCrmAdapter
from connectors.crm.routing import CrmRouting, TenantCrm
from connectors.crm.settings import CrmConfigError
from connectors.gateway.desk import CrmDesk
from core.crm.ports import CrmAdapter


async def test_opens_once_under_concurrent_first_use_and_closes() -> None:
    opened: list[str] = []
    closed: list[str] = []

    @asynccontextmanager
    async def opener() -> AsyncIterator[Mapping[str, CrmAdapter]]:
        opened.append("x")
        await asyncio.sleep(0.01)
        yield {"hubspot": InMemoryCrmAdapter("hubspot")}
        closed.append("x")

    desk = CrmDesk(CrmRouting("hubspot", {"acme": TenantCrm(agents={"a7": "zoho"})}),
                   opener=opener)
    got = await asyncio.gather(*(desk.adapter("hubspot") for _ in range(5)))
    assert len({id(a) for a in got}) == 1 and opened == ["x"]
    assert desk.crm_for("demo", "a1") == "hubspot" and desk.crm_for("acme", "a7") == "zoho"
    with pytest.raises(CrmUnavailable, match="zoho: not configured"):
        await desk.adapter("zoho")
    await desk.close()
    assert closed == ["x"]


async def test_a_crm_that_cannot_be_built_is_unavailable() -> None:
    @asynccontextmanager
    async def opener() -> AsyncIterator[Mapping[str, CrmAdapter]]:
        raise CrmConfigError("C360_CRM_HUBSPOT_BASE_URL is not set")
        yield {}  # pragma: no cover

    desk = CrmDesk(CrmRouting("hubspot"), opener=opener)
    for _ in range(2):
        with pytest.raises(CrmUnavailable, match="CrmConfigError: C360_CRM_HUBSPOT_BASE_URL"):
            await desk.adapter("hubspot")
    await desk.close()
