"""WebhookCrmAdapter: POSTs the canonical JSON of each activity to a receiver, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from connectors.crm import webhook_signature
from connectors.crm.http import ErrorSpeech, HttpReply, raise_for, send
from core.crm.model import ActivityWrite, ContactDraft, CrmContact
from schemas.canonical_json import to_json
from schemas.records import ActivityRequested


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")
    return ""


SPEECH = ErrorSpeech(message=_message)


class WebhookCrmAdapter:
    """A receiver-owned store: no contact lookup (find_contact is always None); contacts
    and activities are upserted by the Idempotency-Key header. 201 = created, any other
    2xx (or 409, a duplicate) = updated; an optional JSON {"id", "url"} names the record."""

    name = "webhook"

    def __init__(
        self, session: aiohttp.ClientSession, *, url: str, secret: str, timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._url = url
        self._secret = secret
        self._timeout = timeout_s
        self._clock = clock

    async def find_contact(self, *, phone: str | None, email: str | None) -> CrmContact | None:
        return None

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        return []  # the receiver owns its store and offers no search

    async def upsert_contact(self, contact: ContactDraft) -> CrmContact:
        identity = (contact.email or "").lower() or (contact.phone or "")
        # A keyed hash, so the header carries no reversible identifier.
        digest = hmac.new(self._secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
        key = f"contact:{digest[:32]}"
        doc = {"type": "ContactDraft", "email": contact.email, "phone": contact.phone,
               "first_name": contact.first_name, "last_name": contact.last_name}
        reply = await self._post(json.dumps(doc, separators=(",", ":")).encode(), key, None)
        ident, url = _named(reply.body, key)
        return CrmContact(id=ident, email=contact.email,
                          phones=(contact.phone,) if contact.phone else (),
                          first_name=contact.first_name, last_name=contact.last_name,
                          record_url=url)

    async def upsert_activity(
        self,
        request: ActivityRequested,
        *,
        contact_id: str | None,
        existing_activity_id: str | None,
        previous_contact_id: str | None = None,
    ) -> ActivityWrite:
        reply = await self._post(to_json(request).encode(), request.idempotency_key,
                                 existing_activity_id, contact_id=contact_id,
                                 previous_contact_id=previous_contact_id)
        ident, url = _named(reply.body, request.idempotency_key)
        return ActivityWrite(ident, reply.status == 201, url)

    async def _post(
        self, body: bytes, key: str, existing_id: str | None, *, contact_id: str | None = None,
        previous_contact_id: str | None = None,
    ) -> HttpReply:
        headers = {"Content-Type": "application/json", "Idempotency-Key": key,
                   webhook_signature.HEADER: webhook_signature.sign(
                       self._secret, body, int(self._clock()))}
        if existing_id:
            headers["X-C360-Activity-Id"] = existing_id
        if contact_id:
            headers["X-C360-Contact-Id"] = contact_id
        if previous_contact_id:  # a relink: the receiver moves the activity off this contact
            headers["X-C360-Previous-Contact-Id"] = previous_contact_id
        reply = await send(self._session, "POST", self._url, crm=self.name,
                           timeout_s=self._timeout, headers=headers, body=body)
        raise_for(reply, crm=self.name, speech=SPEECH, stale_on_404=existing_id is not None,
                  accept=(409,))
        return reply

    async def close(self) -> None:
        return None


def _named(body: Any, fallback: str) -> tuple[str, str | None]:
    if isinstance(body, dict):
        url = body.get("url")
        return str(body.get("id") or fallback), url if isinstance(url, str) else None
    return fallback, None
