"""FakeCrmAdapter: a CrmAdapter test double that records calls and follows a script."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from connectors.crm.errors import CrmError, CrmUnavailable, StaleCrmReference
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from schemas.records import ActivityRequested


@dataclass
class FakeCrmAdapter:
    """Activities upserted by idempotency key (as the vendors' external-id search does);
    `script` holds errors to raise on the next upsert calls, in order."""

    name: str = "hubspot"
    contacts: dict[str, CrmContact] = field(default_factory=dict)
    activities: dict[str, dict[str, object]] = field(default_factory=dict)
    script: list[CrmError] = field(default_factory=list)
    # errors for one interaction's upserts only (other interactions go through)
    failing: dict[str, list[CrmError]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # interaction ids, in write order
    # interaction -> another one: 503 until that other interaction has been written
    blocked_until: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, object]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_contact(self, phone: str | None = None, email: str | None = None) -> str:
        ident = f"c{next(self._ids)}"
        self.contacts[ident] = CrmContact(ident, email=email, phones=(phone,) if phone else ())
        return ident

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        self.calls.append(("find_contact", (phone, email)))
        for contact in self.contacts.values():
            if (email and contact.email == email) or (phone and phone in contact.phones):
                return contact
        return None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        return []

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        self.calls.append(("upsert_contact", contact))
        ident = self.add_contact(contact.phone, contact.email)
        return self.contacts[ident]

    async def upsert_activity(
        self, request: ActivityRequested, *, contact_id: str | None,
        existing_activity_id: str | None, previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        self.calls.append(("upsert_activity", (request.revision, contact_id,
                                               existing_activity_id)))
        if previous_contact_id is not None:
            self.calls.append(("moved_from", previous_contact_id))
        if self.script:
            raise self.script.pop(0)
        if self.failing.get(request.interaction_id):
            raise self.failing[request.interaction_id].pop(0)
        waits_for = self.blocked_until.get(request.interaction_id)
        if waits_for is not None and waits_for not in self.order:
            self.calls.append(("blocked", request.interaction_id))
            raise CrmUnavailable("503 (blocked)", crm=self.name, status=503)
        if contact_id is not None and contact_id not in self.contacts:
            raise StaleCrmReference(f"contact {contact_id} is gone", crm=self.name, status=404)
        if existing_activity_id is not None:
            found = next((k for k, a in self.activities.items()
                          if a["id"] == existing_activity_id), None)
            if found is None:
                raise StaleCrmReference("activity is gone", crm=self.name, status=404)
        record = self.activities.get(request.idempotency_key)
        self.order.append(request.interaction_id)
        if record is None:
            ident = f"a{next(self._ids)}"
            self.activities[request.idempotency_key] = {
                "id": ident, "subject": request.subject, "contact": contact_id,
                "revision": request.revision}
            return ActivityWrite(ident, True, f"https://crm.test/{ident}")
        record.update(subject=request.subject, revision=request.revision, contact=contact_id)
        return ActivityWrite(str(record["id"]), False, f"https://crm.test/{record['id']}")

    async def close(self) -> None:
        return None

    def upserts(self) -> int:
        return sum(1 for name, _ in self.calls if name == "upsert_activity")
