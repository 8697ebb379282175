"""ZohoCrmAdapter: Contacts search/upsert, Calls and Tasks deduplicated by a unique field."""

from __future__ import annotations

from typing import Any

from connectors.crm.auth import VendorHttp
from connectors.crm.errors import CrmRejected, StaleCrmReference
from connectors.crm.http import ErrorSpeech, HttpReply, excerpt
from core.crm import mapping_zoho as mz
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.phone_variants import phone_variants
from schemas.records import ActivityRequested

_STALE_FIELDS = ("id", "Who_Id")


def _first(body: Any) -> dict[str, Any]:
    # Errors are {"code","details","message","status"} or wrapped per record in {"data":[..]}.
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        first = body["data"][0]
        return first if isinstance(first, dict) else {}
    return body if isinstance(body, dict) else {}


def _message(body: Any) -> str:
    item = _first(body)
    return " ".join(str(item[k]) for k in ("code", "message") if item.get(k))


def _stale(status: int, body: Any) -> bool:
    item = _first(body)
    raw = item.get("details")
    details: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return (item.get("code") == "INVALID_DATA" and "invalid" in str(item.get("message"))
            and details.get("api_name") in _STALE_FIELDS)


SPEECH = ErrorSpeech(message=_message, stale=_stale)


class ZohoCrmAdapter:
    """Deviations: the Upsert API does not cover Calls or Tasks, so an activity is inserted
    and a DUPLICATE_DATA answer on the unique C360_Idempotency_Key field names the record
    to update; phone lookup tries each stored spelling with the `phone` search parameter."""

    name = "zoho"

    def __init__(self, http: VendorHttp, *, api_version: str = "v3",
                 app_url: str | None = None) -> None:
        self._http = http
        self._api = f"/crm/{api_version}"
        self._app_url = app_url

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        searches = [{"email": email}] if email else []
        searches += [{"phone": v} for v in phone_variants(phone)] if phone else []
        for params in searches:
            reply = await self._http.call("GET", f"{self._api}/Contacts/search", params=params)
            records = (reply.body or {}).get("data") or [] if reply.status != 204 else []
            if records:
                return mz.contact_from(records[0], self._app_url)
        return None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        if not query.strip():
            return []
        params = {**mz.search_params(query.strip()), "per_page": str(max(1, min(limit, 200)))}
        reply = await self._http.call("GET", f"{self._api}/Contacts/search", params=params)
        records = (reply.body or {}).get("data") or [] if reply.status != 204 else []
        return [mz.contact_from(r, self._app_url) for r in records[:limit]]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = None if contact.email else await self.find_contact(phone=contact.phone,
                                                                   email=None)
        if found is not None:
            fields = mz.contact_record(contact, creating=False)
            reply = await self._http.call("PUT", f"{self._api}/Contacts/{found.id}",
                                          json_body={"data": [fields]}, stale_on_404=True)
        else:
            fields = mz.contact_record(contact, creating=True)
            body: dict[str, Any] = {"data": [fields]}
            if contact.email:
                body["duplicate_check_fields"] = ["Email"]
            reply = await self._http.call("POST", f"{self._api}/Contacts/upsert", json_body=body)
        ident = _result_id(reply)
        return mz.contact_from({"id": ident, **fields}, self._app_url)

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        module = mz.module_for(request)
        # The update sends Who_Id: a relink (previous_contact_id) moves the record with it.
        record = mz.activity_record(request, contact_id)
        ident = existing_activity_id
        if ident is None:
            reply = await self._http.call("POST", f"{self._api}/{module}",
                                          json_body={"data": [record]}, accept=(400, 202))
            duplicate = _duplicate_of(reply)
            if duplicate is None:
                return self._write(module, _result_id(reply), created=True)
            ident = duplicate
        reply = await self._http.call("PUT", f"{self._api}/{module}/{ident}", stale_on_404=True,
                                      json_body={"data": [mz.updatable(module, record)]})
        _result_id(reply)
        return self._write(module, ident, created=False)

    def _write(self, module: str, ident: str, *, created: bool) -> ActivityWrite:
        return ActivityWrite(ident, created, mz.record_url(self._app_url, module, ident))

    async def close(self) -> None:
        return None


def _duplicate_of(reply: HttpReply) -> str | None:
    """The existing record a DUPLICATE_DATA answer names (v2: details.id, v3+:
    details.duplicate_record.id); None when the insert was not a duplicate."""
    item = _first(reply.body)
    if item.get("code") != "DUPLICATE_DATA":
        return None
    details = item.get("details") or {}
    dup = details.get("duplicate_record") or {}
    ident = dup.get("id") or details.get("id")
    if not ident:
        _raise(reply)
    return str(ident)


def _result_id(reply: HttpReply) -> str:
    """The record id of a per-record result; a per-record error (even under 2xx, Zoho's
    multi-status) is raised like a status error."""
    item = _first(reply.body)
    if reply.status >= 400 or item.get("status") == "error":
        _raise(reply)
    return str((item.get("details") or {})["id"])


def _raise(reply: HttpReply) -> None:
    said = excerpt(_message(reply.body) or reply.text)
    status = reply.status if reply.status >= 400 else 400
    if _stale(status, reply.body):
        raise StaleCrmReference(f"zoho: {said}", crm="zoho", status=status)
    raise CrmRejected(f"zoho: HTTP {reply.status} {said}", crm="zoho", status=status,
                      excerpt=said)
