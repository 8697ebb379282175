"""The CRM contract against ZendeskCrmAdapter + the Zendesk emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.zendesk import ZendeskEmulator


class ZendeskHarness(EmulatorHarness):
    """Contract controls mapped onto the Zendesk emulator."""

    emulator: ZendeskEmulator

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        fields = {k: v for k, v in (("phone", phone), ("email", email)) if v}
        return self.emulator.seed_user(**fields)

    def contact_ids(self) -> list[str]:
        return list(self.emulator.table("users"))

    def activities(self, idempotency_key: str) -> list[str]:
        return [
            t["subject"]
            for t in self.emulator.table("tickets").values()
            if t.get("external_id") == idempotency_key
        ]

    def contacts_of(self, activity_id: str) -> list[str]:
        requester = self.emulator.table("tickets")[activity_id].get("requester_id")
        return [str(requester)] if requester is not None else []

    def delete_activity(self, activity_id: str) -> None:
        del self.emulator.table("tickets")[activity_id]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited(seconds))
        return seconds


class TestZendeskContract(CrmAdapterContract):
    """Zendesk passes the CRM contract."""

    @pytest.fixture
    async def harness(
        self, zendesk_emulator: ZendeskEmulator, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[ZendeskHarness]:
        """ZendeskCrmAdapter (OAuth refresh with rotation) against a fresh emulator."""
        yield ZendeskHarness(zendesk_emulator, crm_session)
