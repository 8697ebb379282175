"""InMemoryCrmAdapter: the CrmAdapter twin for unit tests and the dev stack (same contract)."""

from __future__ import annotations

import dataclasses
import itertools

from connectors.crm.errors import CrmError, StaleCrmReference
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.phone_variants import phone_variants
from schemas.records import ActivityRequested


class InMemoryCrmAdapter:
    """Contacts and activities in dicts; `fail_next` scripts errors for the next calls and
    `expire_token` makes the next call count one token refresh, like the real adapters."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.contacts: dict[str, CrmContact] = {}
        self.activities: dict[str, ActivityRequested] = {}
        self.contact_of: dict[str, str | None] = {}  # activity id -> its contact
        self.refresh_count = 0
        self.calls: list[str] = []
        self._keys: dict[str, str] = {}
        self._failures: list[CrmError] = []
        self._failures_after: list[CrmError] = []
        self._expired = False
        self._ids = itertools.count(1)

    # -- test controls ---------------------------------------------------------------------
    def fail_next(self, *errors: CrmError) -> None:
        """Raise these errors on the next calls, in order."""
        self._failures.extend(errors)

    def fail_after_next_write(self, error: CrmError) -> None:
        """Apply the next activity write, then raise `error` (an answer lost in transit)."""
        self._failures_after.append(error)

    def expire_token(self) -> None:
        """The next call refreshes its (imaginary) token once."""
        self._expired = True

    def seed_contact(self, *, phone: str | None = None, email: str | None = None,
                     first_name: str | None = None, last_name: str | None = None) -> str:
        """Store a contact as typed in the CRM; returns its id."""
        ident = f"c{next(self._ids)}"
        self.contacts[ident] = CrmContact(id=ident, email=email,
                                          phones=(phone,) if phone else (),
                                          first_name=first_name, last_name=last_name)
        return ident

    def delete_activity(self, activity_id: str) -> None:
        """Delete an activity CRM-side (its stored id becomes stale)."""
        request = self.activities.pop(activity_id)
        self._keys.pop(request.idempotency_key, None)

    def activity_for(self, idempotency_key: str) -> ActivityRequested | None:
        """The activity written for an idempotency key, if any."""
        ident = self._keys.get(idempotency_key)
        return self.activities.get(ident) if ident else None

    # -- CrmAdapter --------------------------------------------------------------------------
    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        self._enter("find_contact")
        if email:
            for contact in self.contacts.values():
                if contact.email and contact.email.lower() == email.lower():
                    return contact
        if phone:
            spellings = set(phone_variants(phone))
            for contact in self.contacts.values():
                if spellings.intersection(contact.phones):
                    return contact
        return None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        """Every word of the query starts a word of the name or email, or is in a phone."""
        self._enter("search_contacts")
        words = query.casefold().split()
        if not words:
            return []
        found: list[CrmContact] = []
        for contact in self.contacts.values():
            text = " ".join(p for p in (contact.first_name, contact.last_name, contact.email)
                            if p).casefold()
            tokens = [*text.replace("@", " ").replace(".", " ").split(),
                      (contact.email or "").casefold()]
            digits = ["".join(c for c in p if c.isdigit()) for p in contact.phones]
            if all(any(t.startswith(w) for t in tokens)
                   or any(w.strip("+") and w.strip("+") in d for d in digits) for w in words):
                found.append(contact)
        return found[:limit]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = await self.find_contact(phone=contact.phone, email=contact.email)
        ident = found.id if found else f"c{next(self._ids)}"
        old = found or CrmContact(id=ident)
        updated = dataclasses.replace(
            old, email=contact.email or old.email,
            phones=tuple(dict.fromkeys([*([contact.phone] if contact.phone else []),
                                        *old.phones])),
            first_name=contact.first_name or old.first_name,
            last_name=contact.last_name or old.last_name)
        self.contacts[ident] = updated
        return updated

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        self._enter("upsert_activity")
        if existing_activity_id is not None and existing_activity_id not in self.activities:
            raise StaleCrmReference(f"{self.name}: activity not found", crm=self.name, status=404)
        if contact_id is not None and contact_id not in self.contacts:
            raise StaleCrmReference(f"{self.name}: contact not found", crm=self.name, status=404)
        ident = existing_activity_id or self._keys.get(request.idempotency_key)
        created = ident is None
        ident = ident or f"a{next(self._ids)}"
        previous = self.activities.get(ident)
        if previous is None or previous.revision <= request.revision:  # last wrap-up wins
            self.activities[ident] = request
            if contact_id is not None or previous is None:
                self.contact_of[ident] = contact_id  # an update with a contact moves it
        self._keys[request.idempotency_key] = ident
        if self._failures_after:
            raise self._failures_after.pop(0)
        return ActivityWrite(ident, created, None)

    async def close(self) -> None:
        return None

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        if self._expired:
            self._expired = False
            self.refresh_count += 1
        if self._failures:
            raise self._failures.pop(0)
