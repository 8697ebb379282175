"""The CRM contract against ZohoCrmAdapter + the Zoho CRM emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.zoho import KEY, ZohoEmulator


class ZohoHarness(EmulatorHarness):
    """Contract controls mapped onto the Zoho emulator."""

    emulator: ZohoEmulator

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        fields = {k: v for k, v in (("Phone", phone), ("Email", email)) if v}
        return self.emulator.seed("Contacts", {"Last_Name": "Scully", **fields})

    def contact_ids(self) -> list[str]:
        return list(self.emulator.table("Contacts"))

    def activities(self, idempotency_key: str) -> list[str]:
        return [
            r["Subject"]
            for r in self.emulator.table("Calls").values()
            if r.get(KEY) == idempotency_key
        ]

    def contacts_of(self, activity_id: str) -> list[str]:
        who = self.emulator.table("Calls")[activity_id].get("Who_Id") or {}
        return [who["id"]] if who.get("id") else []

    def delete_activity(self, activity_id: str) -> None:
        del self.emulator.table("Calls")[activity_id]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited())
        return None  # Zoho documents no wait hint


class TestZohoContract(CrmAdapterContract):
    """Zoho passes the CRM contract."""

    @pytest.fixture
    async def harness(
        self, zoho_emulator: ZohoEmulator, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[ZohoHarness]:
        """ZohoCrmAdapter (accounts-server refresh) against a fresh emulator."""
        yield ZohoHarness(zoho_emulator, crm_session)
