"""SalesforceCrmAdapter: Contact lookup by SOQL, Task upsert by an External ID field."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connectors.crm.auth import VendorHttp
from connectors.crm.errors import CrmRejected
from connectors.crm.http import ErrorSpeech
from core.crm import mapping_salesforce as ms
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from core.crm.phone_variants import phone_variants
from schemas.records import ActivityRequested


def _errors(body: Any) -> list[dict[str, Any]]:
    # Salesforce errors are a JSON array [{"message","errorCode","fields"}].
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    return [body] if isinstance(body, dict) and "errorCode" in body else []


def _codes(body: Any) -> set[str]:
    return {str(e.get("errorCode")) for e in _errors(body)}


def _message(body: Any) -> str:
    return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in _errors(body))


SPEECH = ErrorSpeech(
    message=_message,
    # API request limits are answered 403 REQUEST_LIMIT_EXCEEDED, with no wait hint.
    transient=lambda status, body: status == 403 and "REQUEST_LIMIT_EXCEEDED" in _codes(body),
    stale=lambda status, body: "ENTITY_IS_DELETED" in _codes(body),
)


class SalesforceCrmAdapter:
    """Deviations: an update of an existing Task by external id cannot carry TaskSubtype
    (create-only), so a rejection naming it is retried once without it."""

    name = "salesforce"

    def __init__(self, http: VendorHttp, *, api_version: str = "v60.0") -> None:
        self._http = http
        self._api = f"/services/data/{api_version}"

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        if email:
            found = await self._query_one(ms.contact_query_by_email(email))
            if found:
                return found
        if phone:
            return await self._query_one(ms.contact_query_by_phones(phone_variants(phone)))
        return None

    async def _query_one(self, soql: str) -> CrmContact | None:
        reply = await self._http.call("GET", f"{self._api}/query", params={"q": soql})
        records = (reply.body or {}).get("records") or []
        return ms.contact_from(records[0], self._http.base_url) if records else None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        if not query.split():
            return []
        reply = await self._http.call("GET", f"{self._api}/search",
                                      params={"q": ms.contact_search(query, limit)})
        # API v37.0+: {"searchRecords": [...]}; earlier versions answer a bare list.
        body = reply.body
        records = body.get("searchRecords") if isinstance(body, dict) else body
        return [ms.contact_from(r, self._http.base_url) for r in (records or [])
                if (r.get("attributes") or {}).get("type", "Contact") == "Contact"][:limit]

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        found = await self.find_contact(phone=contact.phone, email=contact.email)
        if found is not None:
            fields = ms.contact_fields(contact, creating=False)
            await self._http.call("PATCH", f"{self._api}/sobjects/Contact/{found.id}",
                                  json_body=fields, stale_on_404=True)
            ident = found.id
        else:
            fields = ms.contact_fields(contact, creating=True)
            reply = await self._http.call("POST", f"{self._api}/sobjects/Contact",
                                          json_body=fields)
            ident = str(reply.body["id"])
        return CrmContact(id=ident, email=fields.get("Email"),
                          phones=(fields["Phone"],) if "Phone" in fields else (),
                          first_name=fields.get("FirstName"), last_name=fields.get("LastName"),
                          record_url=ms.record_url(self._http.base_url, "Contact", ident))

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        # The update sends WhoId: a relink (previous_contact_id) moves the Task to the new
        # contact with the same PATCH.
        fields = ms.task_fields(request, contact_id)
        if existing_activity_id:
            await self._http.call("PATCH", f"{self._api}/sobjects/Task/{existing_activity_id}",
                                  json_body=ms.updatable(fields), stale_on_404=True)
            return self._write(existing_activity_id, created=False)
        path = (f"{self._api}/sobjects/Task/{ms.EXTERNAL_ID_FIELD}/"
                f"{quote(request.idempotency_key, safe='')}")
        try:
            reply = await self._http.call("PATCH", path, json_body=fields)
        except CrmRejected as exc:
            if "TaskSubtype" not in exc.excerpt:
                raise
            reply = await self._http.call("PATCH", path, json_body=ms.updatable(fields))
        body = reply.body if isinstance(reply.body, dict) else {}
        if "id" not in body:  # API versions before 46.0 answer an update with 204
            found = await self._http.call("GET", path, params={"fields": "Id"})
            body = {"id": found.body["Id"], "created": False}
        return self._write(str(body["id"]), created=bool(body.get("created", False)))

    def _write(self, ident: str, *, created: bool) -> ActivityWrite:
        return ActivityWrite(ident, created, ms.record_url(self._http.base_url, "Task", ident))

    async def close(self) -> None:
        return None
