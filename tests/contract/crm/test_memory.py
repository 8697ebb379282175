"""The CRM contract against the InMemoryCrmAdapter twin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.crm.errors import CrmRejected, CrmUnavailable
from connectors.crm.http import excerpt
from connectors.crm.memory import InMemoryCrmAdapter
from tests.contract.crm.contract import CrmAdapterContract


class MemoryHarness:
    """Contract controls mapped onto the twin's own hooks."""

    supports_contacts = True
    supports_refresh = True

    def __init__(self) -> None:
        self.adapter = InMemoryCrmAdapter("memory")

    def seed_contact(self, *, phone: str | None, email: str | None) -> str:
        return self.adapter.seed_contact(phone=phone, email=email)

    def contact_ids(self) -> list[str]:
        return list(self.adapter.contacts)

    def activities(self, idempotency_key: str) -> list[str]:
        found = self.adapter.activity_for(idempotency_key)
        return [found.subject] if found else []

    def contacts_of(self, activity_id: str) -> list[str]:
        contact = self.adapter.contact_of.get(activity_id)
        return [contact] if contact else []

    def delete_activity(self, activity_id: str) -> None:
        self.adapter.delete_activity(activity_id)

    def fail_rate_limited(self, seconds: int) -> float | None:
        self.adapter.fail_next(
            CrmUnavailable("memory: 429", crm="memory", status=429, retry_after=float(seconds))
        )
        return seconds

    def fail_server_error(self) -> None:
        self.adapter.fail_next(CrmUnavailable("memory: 503", crm="memory", status=503))

    def fail_timeout(self) -> None:
        self.adapter.fail_next(CrmUnavailable("memory: timed out", crm="memory"))

    def fail_timeout_after_write(self) -> None:
        self.adapter.fail_after_next_write(CrmUnavailable("memory: timed out", crm="memory"))

    def fail_rejected(self, message: str) -> None:
        said = excerpt(message)
        self.adapter.fail_next(
            CrmRejected(f"memory: HTTP 400 {said}", crm="memory", status=400, excerpt=said)
        )

    def expire_token(self) -> None:
        self.adapter.expire_token()

    def refreshes(self) -> int:
        return self.adapter.refresh_count


class TestInMemoryContract(CrmAdapterContract):
    """The twin passes the same CRM contract as the vendor adapters."""

    @pytest.fixture
    def harness(self) -> Iterator[MemoryHarness]:
        """A fresh twin."""
        yield MemoryHarness()
