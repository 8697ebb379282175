"""The CRM contract against HubSpotCrmAdapter + the HubSpot emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.hubspot import HubSpotEmulator


class HubSpotHarness(EmulatorHarness):
    """Contract controls mapped onto the HubSpot emulator."""

    emulator: HubSpotEmulator

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        props = {k: v for k, v in (("phone", phone), ("email", email)) if v}
        return self.emulator.seed("contacts", props)

    def contact_ids(self) -> list[str]:
        return list(self.emulator.table("contacts"))

    def activities(self, idempotency_key: str) -> list[str]:
        return [
            r["properties"].get("hs_call_title", "")
            for r in self.emulator.table("calls").values()
            if r["properties"].get("c360_idempotency_key") == idempotency_key
        ]

    def contacts_of(self, activity_id: str) -> list[str]:
        return self.emulator.contacts_of("calls", activity_id)

    def delete_activity(self, activity_id: str) -> None:
        del self.emulator.table("calls")[activity_id]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited(seconds))
        return seconds


class TestHubSpotContract(CrmAdapterContract):
    """HubSpot passes the CRM contract."""

    @pytest.fixture
    async def harness(
        self, hubspot_emulator: HubSpotEmulator, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[HubSpotHarness]:
        """HubSpotCrmAdapter (OAuth refresh) against a fresh emulator."""
        yield HubSpotHarness(hubspot_emulator, crm_session)
