"""HubSpotCrmAdapter: contacts and activities through the HubSpot CRM v3 objects API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.crm.auth import VendorHttp
from connectors.crm.errors import CrmRejected
from connectors.crm.http import ErrorSpeech, HttpReply, excerpt, header
from core.crm import mapping_hubspot as mh
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.phone_variants import phone_variants
from schemas.records import ActivityRequested

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


def _message(body: Any) -> str:
    # {"status":"error","message":..,"correlationId":..,"category":..}; every field optional.
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body[k]) for k in ("category", "message") if body.get(k))


def _retry_hint(headers: Mapping[str, str]) -> float | None:
    # X-HubSpot-RateLimit-Interval-Milliseconds is the window; at 0 remaining, wait it out.
    remaining = header(headers, "X-HubSpot-RateLimit-Remaining")
    interval = header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
    if remaining == "0" and interval and interval.isdigit():
        return int(interval) / 1000
    return None


SPEECH = ErrorSpeech(message=_message, retry_hint=_retry_hint)


class HubSpotCrmAdapter:
    """Deviation: HubSpot has no upsert for engagements, so an activity is found by the
    custom property c360_idempotency_key (search) when the worker has no stored id; the
    search index lags writes by seconds, so the stored id stays the first line of defence."""

    name = "hubspot"

    def __init__(self, http: VendorHttp, *, app_url: str | None = None) -> None:
        self._http = http
        self._app_url = app_url

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        if email:
            found = await self._search_contacts("email", (email,))
            if found:
                return found
        if phone:
            variants = phone_variants(phone)
            return await self._search_contacts("phone", variants, also="mobilephone")
        return None

    async def _search_contacts(
        self, prop: str, values: tuple[str, ...], also: str | None = None
    ) -> CrmContact | None:
        groups = [{"filters": [{"propertyName": p, "operator": "IN", "values": list(values)}]}
                  for p in (prop, also) if p]
        body = {"filterGroups": groups, "properties": list(mh.CONTACT_PROPERTIES), "limit": 1}
        reply = await self._http.call("POST", "/crm/v3/objects/contacts/search", json_body=body)
        results = (reply.body or {}).get("results") or []
        return mh.contact_from(results[0], self._app_url) if results else None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        # `query` searches the default searchable properties (names, email, phone, company).
        body = {"query": query, "properties": list(mh.CONTACT_PROPERTIES),
                "limit": max(1, min(limit, mh.SEARCH_LIMIT))}
        reply = await self._http.call("POST", "/crm/v3/objects/contacts/search", json_body=body)
        results = (reply.body or {}).get("results") or []
        return [mh.contact_from(r, self._app_url) for r in results[:limit]]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = await self.find_contact(phone=contact.phone, email=contact.email)
        props = {"properties": mh.contact_properties(contact)}
        if found is None:
            reply = await self._http.call("POST", "/crm/v3/objects/contacts", json_body=props,
                                          accept=(409,))
            if reply.status != 409:
                return mh.contact_from(reply.body, self._app_url)
            ident = _existing_id(reply)
        else:
            ident = found.id
        reply = await self._http.call("PATCH", f"/crm/v3/objects/contacts/{ident}",
                                      json_body=props, stale_on_404=True)
        return mh.contact_from(reply.body, self._app_url)

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        target = mh.object_for(request)
        base = f"/crm/v3/objects/{target.path}"
        ident = existing_activity_id or await self._find_activity(base, request.idempotency_key)
        if ident:
            reply = await self._http.call(
                "PATCH", f"{base}/{ident}", stale_on_404=True,
                json_body={"properties": mh.activity_properties(request)})
            created = False
            if previous_contact_id and contact_id:
                await self._move(target, ident, previous_contact_id, contact_id)
        else:
            reply = await self._http.call("POST", base,
                                          json_body=mh.activity_create(request, contact_id))
            created = True
        new_id = str(reply.body["id"])
        return ActivityWrite(new_id, created, mh.record_url(self._app_url, target.type_id, new_id))

    async def _move(
        self, target: mh.HubSpotObject, ident: str, old: str, new: str
    ) -> None:
        """A relink: associate the activity with the new contact, then remove its
        association with the old one (v4 associations API; the PATCH cannot do either)."""
        await self._http.call("PUT", mh.association_path(target, ident, new),
                              json_body=mh.association_types(target), stale_on_404=True)
        await self._http.call("DELETE", mh.association_path(target, ident, old),
                              accept=(404,))

    async def _find_activity(self, base: str, key: str) -> str | None:
        body = mh.search_by(mh.IDEMPOTENCY_PROPERTY, (key,), (mh.IDEMPOTENCY_PROPERTY,))
        reply = await self._http.call("POST", f"{base}/search", json_body=body)
        results = (reply.body or {}).get("results") or []
        return str(results[0]["id"]) if results else None

    async def close(self) -> None:
        return None


def _existing_id(reply: HttpReply) -> str:
    """The id a 409 names ("Contact already exists. Existing ID: 123"): the contact was
    created concurrently or the search index lags; without an id the 409 is permanent."""
    match = _EXISTING_ID.search(str((reply.body or {}).get("message", "")))
    if match is None:
        said = excerpt(reply.text)
        raise CrmRejected(f"hubspot: HTTP 409 {said}", crm="hubspot", status=409, excerpt=said)
    return match.group(1)
