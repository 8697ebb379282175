"""ZendeskCrmAdapter: users found by search, activities written as tickets with internal notes."""

from __future__ import annotations

from typing import Any

from connectors.crm.auth import VendorHttp
from connectors.crm.http import ErrorSpeech
from core.crm import mapping_zendesk as mz
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from schemas.records import ActivityRequested


def _message(body: Any) -> str:
    # {"error": "RecordInvalid", "description": "..", "details": {..}} or
    # {"error": {"title": .., "message": ..}}.
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict):
        error = f"{error.get('title', '')} {error.get('message', '')}".strip()
    parts = [str(error or ""), str(body.get("description") or "")]
    details = body.get("details")
    if isinstance(details, dict):
        parts += [str(d.get("description", "")) for v in details.values()
                  for d in (v if isinstance(v, list) else [v]) if isinstance(d, dict)]
    return " ".join(p for p in parts if p)


SPEECH = ErrorSpeech(message=_message)


class ZendeskCrmAdapter:
    """Deviations: a ticket is matched by external_id = idempotency key (not unique in
    Zendesk, so two concurrent first writes could both create); a revision already written
    (tag c360_rev_<n>) is not written again, since each update adds an internal note."""

    name = "zendesk"

    def __init__(self, http: VendorHttp) -> None:
        self._http = http

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        if email:
            found = await self._search(mz.email_query(email))
            if found:
                return found
        return await self._search(mz.phone_query(phone)) if phone else None

    async def _search(self, query: str) -> CrmContact | None:
        reply = await self._http.call("GET", "/api/v2/search.json", params={"query": query})
        users = [r for r in (reply.body or {}).get("results") or []
                 if r.get("result_type", "user") == "user"]
        return mz.contact_from(users[0], self._http.base_url) if users else None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        terms = mz.user_search_query(query)
        if not terms:
            return []
        reply = await self._http.call("GET", "/api/v2/users/search",
                                      params={"query": terms,
                                              "per_page": str(max(1, min(limit, 100)))})
        users = (reply.body or {}).get("users") or []
        return [mz.contact_from(u, self._http.base_url) for u in users[:limit]]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = await self.find_contact(phone=contact.phone, email=contact.email)
        if found is not None:
            reply = await self._http.call("PUT", f"/api/v2/users/{found.id}", stale_on_404=True,
                                          json_body=mz.user_body(contact, creating=False))
        else:  # matches on email server-side, so a concurrent create does not duplicate
            reply = await self._http.call("POST", "/api/v2/users/create_or_update",
                                          json_body=mz.user_body(contact, creating=True))
        return mz.contact_from(reply.body["user"], self._http.base_url)

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        ticket = await self._existing(request.idempotency_key, existing_activity_id)
        if ticket is None:
            reply = await self._http.call("POST", "/api/v2/tickets",
                                          json_body=mz.ticket_create(request, contact_id))
            return self._write(reply.body["ticket"], created=True)
        if not mz.has_revision(ticket, request.revision):
            # A relink (previous_contact_id) changes the ticket's requester in the same PUT.
            requester = contact_id if previous_contact_id else None
            reply = await self._http.call("PUT", f"/api/v2/tickets/{ticket['id']}",
                                          json_body=mz.ticket_update(request, ticket, requester),
                                          stale_on_404=True)
            ticket = reply.body["ticket"]
        return self._write(ticket, created=False)

    async def _existing(self, key: str, ident: str | None) -> dict[str, Any] | None:
        if ident:
            reply = await self._http.call("GET", f"/api/v2/tickets/{ident}", stale_on_404=True)
            return dict(reply.body["ticket"])
        reply = await self._http.call("GET", "/api/v2/tickets", params={"external_id": key})
        tickets = (reply.body or {}).get("tickets") or []
        return dict(tickets[0]) if tickets else None

    def _write(self, ticket: dict[str, Any], *, created: bool) -> ActivityWrite:
        ident = str(ticket["id"])
        return ActivityWrite(ident, created, mz.ticket_url(self._http.base_url, ident))

    async def close(self) -> None:
        return None
