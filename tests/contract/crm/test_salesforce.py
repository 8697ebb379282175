"""The CRM contract against SalesforceCrmAdapter + the Salesforce emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.salesforce import EXT, SalesforceEmulator


class SalesforceHarness(EmulatorHarness):
    """Contract controls mapped onto the Salesforce emulator."""

    emulator: SalesforceEmulator

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        fields = {k: v for k, v in (("Phone", phone), ("Email", email)) if v}
        return self.emulator.seed("Contact", {"LastName": "Scully", **fields})

    def contact_ids(self) -> list[str]:
        return list(self.emulator.table("Contact"))

    def activities(self, idempotency_key: str) -> list[str]:
        return [
            r["Subject"]
            for r in self.emulator.table("Task").values()
            if r.get(EXT) == idempotency_key
        ]

    def contacts_of(self, activity_id: str) -> list[str]:
        who = self.emulator.table("Task")[activity_id].get("WhoId")
        return [who] if who else []

    def delete_activity(self, activity_id: str) -> None:
        del self.emulator.table("Task")[activity_id]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited())
        return None  # REQUEST_LIMIT_EXCEEDED carries no wait hint


class TestSalesforceContract(CrmAdapterContract):
    """Salesforce passes the CRM contract."""

    @pytest.fixture
    async def harness(
        self, salesforce_emulator: SalesforceEmulator, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[SalesforceHarness]:
        """SalesforceCrmAdapter (OAuth refresh, instance_url) against a fresh emulator."""
        yield SalesforceHarness(salesforce_emulator, crm_session)
