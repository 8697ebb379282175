"""The one port the CRM sink worker calls: CrmAdapter (one implementation per CRM)."""

from __future__ import annotations

from typing import Protocol

from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from schemas.records import ActivityRequested

CRM_NAMES = ("hubspot", "salesforce", "zendesk", "zoho", "dynamics365", "webhook")


class CrmAdapter(Protocol):
    """Upserts contacts and activities in one CRM; every call is idempotent.

    Every method raises only `connectors.crm.errors` types:
    CrmRejected (permanent 4xx), CrmUnavailable (429/5xx/timeout; `retry_after`),
    CrmAuthError (401 after one refresh), StaleCrmReference (404/410 on a stored id).
    """

    name: str  # one of CRM_NAMES

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        """The contact with this email, else this phone (E.164; the vendor's stored formats
        — national, digits-only — are tried too); None when nothing matches."""
        ...

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        """Contacts matching what an agent typed (a name, an email, a phone) through the
        vendor's own search, at most `limit`; user input is escaped for the vendor's query
        language. A CRM without a search answers []."""
        ...

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        """Update the contact matching the draft's email/phone, or create it."""
        ...

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        """Create the activity, or update the one already written for
        `request.idempotency_key` (or `existing_activity_id` when the worker stored it),
        linked to `contact_id` when given. `previous_contact_id`: the contact the activity
        was written to before (a relink moved it): the update moves the association from
        it to `contact_id`, or, where the CRM cannot, writes a correction and says so in
        ActivityWrite.detail. Raises StaleCrmReference when `existing_activity_id` or
        `contact_id` no longer exists."""
        ...

    async def close(self) -> None:
        """Release what the adapter owns (never the shared HTTP session)."""
        ...
