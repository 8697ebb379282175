"""Dynamics365CrmAdapter: Dataverse Web API contacts, phonecall/task upsert by alternate key."""

from __future__ import annotations

import re
from typing import Any

from connectors.crm.auth import VendorHttp
from connectors.crm.errors import CrmRejected
from connectors.crm.http import ErrorSpeech, header
from core.crm import mapping_dynamics as md
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.phone_variants import phone_variants
from schemas.records import ActivityRequested

NOT_FOUND = "0x80040217"  # "<table> With Id = ... Does Not Exist"
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F-]{36})\)\s*$")
_REPRESENT = {"Prefer": "return=representation"}
_UPDATE_ONLY = {"If-Match": "*"}  # never create by accident when updating a stored id


def _error(body: Any) -> dict[str, Any]:
    inner = body.get("error") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def _message(body: Any) -> str:
    inner = _error(body)
    return " ".join(str(inner[k]) for k in ("code", "message") if inner.get(k))


SPEECH = ErrorSpeech(message=_message,
                     stale=lambda status, body: _error(body).get("code") == NOT_FOUND)


class Dynamics365CrmAdapter:
    """Deviation: the alternate key c360_idempotencykey must exist on phonecall and task;
    with `Prefer: return=representation` an upsert answers 201 (created) or 200 (updated)."""

    name = "dynamics365"

    def __init__(self, http: VendorHttp, *, api_version: str = "v9.2") -> None:
        self._http = http
        self._api = f"/api/data/{api_version}"

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        if email:
            found = await self._first(md.email_filter(email))
            if found:
                return found
        return await self._first(md.phone_filter(phone_variants(phone))) if phone else None

    async def _first(self, odata_filter: str) -> CrmContact | None:
        params = {"$filter": odata_filter, "$select": ",".join(md.CONTACT_SELECT), "$top": "1"}
        reply = await self._http.call("GET", f"{self._api}/contacts", params=params)
        rows = (reply.body or {}).get("value") or []
        return md.contact_from(rows[0], self._http.base_url) if rows else None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        if not query.strip():
            return []
        params = {"$filter": md.search_filter(query.strip()),
                  "$select": ",".join(md.CONTACT_SELECT), "$top": str(max(1, limit))}
        reply = await self._http.call("GET", f"{self._api}/contacts", params=params)
        rows = (reply.body or {}).get("value") or []
        return [md.contact_from(r, self._http.base_url) for r in rows[:limit]]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = await self.find_contact(phone=contact.phone, email=contact.email)
        row = md.contact_row(contact)
        if found is None:
            reply = await self._http.call("POST", f"{self._api}/contacts", json_body=row,
                                          headers=_REPRESENT)
        else:
            reply = await self._http.call("PATCH", f"{self._api}/contacts({found.id})",
                                          json_body=row, headers=_REPRESENT | _UPDATE_ONLY,
                                          stale_on_404=True)
        return md.contact_from(reply.body, self._http.base_url)

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        target = md.entity_set(request)
        # The update binds regardingobjectid to the contact: a relink (previous_contact_id)
        # re-binds it in the same PATCH.
        row = md.activity_row(request, contact_id)
        if existing_activity_id:
            reply = await self._http.call(
                "PATCH", f"{self._api}/{target}({existing_activity_id})", json_body=row,
                headers=_REPRESENT | _UPDATE_ONLY, stale_on_404=True)
        else:
            reply = await self._http.call(
                "PATCH", self._api + md.key_segment(target, request.idempotency_key),
                json_body=row, headers=_REPRESENT)
        ident = _activity_id(reply.body, header(reply.headers, "OData-EntityId"))
        return ActivityWrite(ident, reply.status == 201, md.record_url(
            self._http.base_url, md.logical_name(target), ident))

    async def close(self) -> None:
        return None


def _activity_id(body: Any, entity_id: str | None) -> str:
    """activityid from the representation, else from the OData-EntityId header (a 204)."""
    if isinstance(body, dict) and body.get("activityid"):
        return str(body["activityid"])
    match = _ENTITY_ID.search(entity_id or "")
    if match is None:
        raise CrmRejected("dynamics365: upsert answered without an activity id",
                          crm="dynamics365", status=204)
    return match.group(1)
