"""The CRM contract against WebhookCrmAdapter + a reference signed-webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.contract.crm.contract import CrmAdapterContract
from tests.contract.crm.harness import EmulatorHarness
from tests.emulators.webhook import WebhookReceiver


class WebhookHarness(EmulatorHarness):
    """Contract controls mapped onto the receiver (no contacts, no tokens)."""

    emulator: WebhookReceiver
    supports_contacts = False
    supports_refresh = False

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        raise NotImplementedError

    def contact_ids(self) -> list[str]:
        return []

    def activities(self, idempotency_key: str) -> list[str]:
        event = self.emulator.table("events").get(idempotency_key)
        return [event["doc"]["subject"]] if event else []

    def contacts_of(self, activity_id: str) -> list[str]:
        return [e["contact"] for e in self.emulator.table("events").values()
                if e["id"] == activity_id and e.get("contact")]

    def delete_activity(self, activity_id: str) -> None:
        events = self.emulator.table("events")
        for key, event in list(events.items()):
            if event["id"] == activity_id:
                del events[key]

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.emulator.fail_next(self.emulator.rate_limited(seconds))
        return seconds


class TestWebhookContract(CrmAdapterContract):
    """The webhook sink passes the CRM contract (contact and token tests do not apply)."""

    @pytest.fixture
    async def harness(
        self, webhook_receiver: WebhookReceiver, crm_session: aiohttp.ClientSession
    ) -> AsyncIterator[WebhookHarness]:
        """WebhookCrmAdapter against a fresh receiver."""
        yield WebhookHarness(webhook_receiver, crm_session)
