"""The CRM contract against Dynamics365CrmAdapter + the Dataverse emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.dynamics365 import KEY, Dynamics365Emulator


class Dynamics365Harness(EmulatorHarness):
    """Contract controls mapped onto the Dataverse emulator."""

    emulator: Dynamics365Emulator

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        columns = {k: v for k, v in (("telephone1", phone), ("emailaddress1", email)) if v}
        return self.emulator.seed("contacts", {"lastname": "Scully", **columns})

    def contact_ids(self) -> list[str]:
        return list(self.emulator.table("contacts"))

    def activities(self, idempotency_key: str) -> list[str]:
        return [
            r["subject"]
            for r in self.emulator.table("phonecalls").values()
            if r.get(KEY) == idempotency_key
        ]

    def contacts_of(self, activity_id: str) -> list[str]:
        bound = self.emulator.table("phonecalls")[activity_id].get(
            "regardingobjectid_contact_phonecall@odata.bind")
        return [bound.removeprefix("/contacts(").removesuffix(")")] if bound else []

    def delete_activity(self, activity_id: str) -> None:
        del self.emulator.table("phonecalls")[activity_id]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited(seconds))
        return seconds


class TestDynamics365Contract(CrmAdapterContract):
    """Dynamics 365 passes the CRM contract."""

    @pytest.fixture
    async def harness(
        self, dynamics365_emulator: Dynamics365Emulator, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[Dynamics365Harness]:
        """Dynamics365CrmAdapter (client credentials) against a fresh emulator."""
        yield Dynamics365Harness(dynamics365_emulator, crm_session)
