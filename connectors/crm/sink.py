"""CrmSink: write one ActivityRequested to the selected CRM, idempotently, and say what happened."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from connectors.crm.errors import CrmRejected, StaleCrmReference
from connectors.crm.ledger import ActivityLedger, LedgerEntry
from connectors.crm.routing import CrmRouting
from core.crm.model import ActivityWrite, ContactDraft
from core.crm.ports import CrmAdapter
from schemas import codec
from schemas.errors import C360Error
from schemas.records import ActivityRequested, ActivityResult

log = structlog.get_logger("c360.crm.sink")
_NS = uuid.UUID("c2a3e1d4-58b0-4f3e-9c61-7d2b0e4f8a95")
FELL_BACK = ("written with the service credentials: the CRM refused the agent's own "
             "authorization (they can reconnect from the panel)")


class NoAdapter(C360Error):
    """The routing selects a CRM this worker has no adapter for (a config error: DLQ, and
    redrive once the adapter is configured)."""


class AgentAdapterResolver(Protocol):
    """Per-agent CRM identity (connectors.crm.agent_adapters.AgentAdapters)."""

    async def adapter_for(
        self, crm: str, request: ActivityRequested, service: CrmAdapter
    ) -> CrmAdapter:
        """The adapter writing as the request's agent, else `service`."""
        ...


@dataclass(frozen=True, slots=True)
class Written:
    """What `CrmSink.write` did: the result to publish, or none (skipped/stale)."""

    result: ActivityResult | None
    reason: str  # created | updated | duplicate | stale | no_crm


def fingerprint(request: ActivityRequested) -> str:
    """Content hash of a request: an equal revision with new content (a late leg end that
    did not move last_ms) is still written; an identical one is a duplicate."""
    return hashlib.sha256(codec.encode(request)).hexdigest()[:32]


def result_for(
    request: ActivityRequested, crm: str, status: str, *, activity_id: str | None = None,
    contact_id: str | None = None, record_url: str | None = None, error: str | None = None,
    detail: str | None = None,
) -> ActivityResult:
    """An ActivityResult; its id and time derive from the request, so a result re-emitted
    after a crash is byte-for-byte the same one."""
    name = f"{request.idempotency_key}:{crm}:{request.revision}:{status}"
    return ActivityResult(
        event_id=str(uuid.uuid5(_NS, name)),
        tenant_id=request.tenant_id,
        occurred_at=request.occurred_at,
        interaction_id=request.interaction_id,
        idempotency_key=request.idempotency_key,
        crm=crm,
        status=status,
        crm_activity_id=activity_id,
        crm_contact_id=contact_id,
        record_url=record_url,
        error=error,
        detail=detail,
    )


def rejected_result(request: ActivityRequested, crm: str, exc: CrmRejected) -> ActivityResult:
    """The result for a request the CRM refused for good (the excerpt is PII-masked)."""
    detail = f"{exc.status} {exc}" + (f": {exc.excerpt}" if exc.excerpt else "")
    return result_for(request, crm, "rejected", error=detail[:1000])


def explicit_contact(request: ActivityRequested, crm: str) -> str | None:
    """The contact the request names for this CRM: the routing-plan hint or the record the
    agent picked (crm_record_hint), else the linked profile's CRM id; None = search."""
    hint = request.crm_record_hint
    if hint is not None and hint.crm == crm and hint.object_type == "contact":
        return hint.record_id
    return request.profile_crm_ids.get(crm)


def contact_target(request: ActivityRequested, explicit: str | None) -> str:
    """How the contact is chosen, as the ledger remembers it: an id, or a search by these
    identifiers (hashed: the ledger holds no phone number or email)."""
    if explicit is not None:
        return f"id:{explicit}"
    said = f"{request.customer_phone or ''}|{request.customer_email or ''}"
    return "search:" + hashlib.sha256(said.encode()).hexdigest()[:24]


@dataclass(slots=True)
class CrmSink:
    """Upserts activities through the CRM adapters; the ledger makes replays cheap and
    keeps a stale replay from overwriting a newer revision.

    Raises the adapters' CrmUnavailable/CrmAuthError (transient: the worker pauses and
    retries), CrmRejected (permanent: the worker dead-letters) and NoAdapter.
    """

    adapters: Mapping[str, CrmAdapter]
    routing: CrmRouting
    ledger: ActivityLedger
    create_contacts: bool = False
    # Test hook: called right after the CRM accepted a write, before anything is recorded.
    after_write: Callable[[], None] | None = None
    # Per-agent CRM identity: writes as the request's agent where they connected the CRM.
    agent_adapters: AgentAdapterResolver | None = None

    def crm_of(self, request: ActivityRequested) -> str | None:
        """The CRM selected for this request (None = the tenant has none)."""
        return self.routing.crm_for(request.tenant_id, request.agent_id, request.crm)

    async def write(self, request: ActivityRequested) -> Written:
        """Create or update the request's activity in its CRM (at most one per key)."""
        crm = self.crm_of(request)
        if crm is None:
            return Written(None, "no_crm")
        adapter = self.adapters.get(crm)
        if adapter is None:
            raise NoAdapter(f"no adapter configured for CRM {crm!r}")
        if self.agent_adapters is not None:
            adapter = await self.agent_adapters.adapter_for(crm, request, adapter)
        key, print_ = request.idempotency_key, fingerprint(request)
        stored = self.ledger.get(key, crm)
        if stored is not None and request.revision < stored.revision:
            log.info("activity_stale_revision", revision=request.revision, stored=stored.revision)
            return Written(None, "stale")
        if stored is not None and (request.revision, print_) == (stored.revision,
                                                                 stored.fingerprint):
            # Written before a crash that came before the commit: say so again, write nothing.
            return Written(self._result(request, crm, stored), "duplicate")
        try:
            written = await self._upsert(adapter, request, stored)
        except StaleCrmReference:
            # The stored contact or activity was merged/deleted CRM-side: look both up afresh
            # (the adapter finds the activity by idempotency key, the contact by identifier).
            log.warning("crm_reference_stale_repairing", crm=crm)
            try:
                written = await self._upsert(adapter, request, None, fresh=True)
            except StaleCrmReference as exc:
                raise CrmRejected(f"still stale after a fresh lookup: {exc}", crm=crm,
                                  status=exc.status) from exc
        activity, contact_id, target, detail = written
        if self.after_write is not None:
            self.after_write()
        status = "created" if activity.created else "updated"
        entry = LedgerEntry(activity.crm_activity_id, request.revision, print_, status,
                            contact_id, activity.record_url, target, detail)
        self.ledger.put(key, crm, entry)
        result = self._result(request, crm, entry)
        if getattr(adapter, "fell_back", False):  # per-agent identity refused mid-write
            result = replace(result, detail=FELL_BACK)
        return Written(result, status)

    async def _upsert(
        self, adapter: CrmAdapter, request: ActivityRequested, stored: LedgerEntry | None,
        *, fresh: bool = False,
    ) -> tuple[ActivityWrite, str | None, str, str | None]:
        """Write with the contact the request targets now; when that is another contact
        than the one stored for the activity, the adapter moves the association."""
        explicit = None if fresh else explicit_contact(request, adapter.name)
        target = contact_target(request, explicit)
        if stored is not None and stored.target == target:
            contact_id = stored.crm_contact_id  # same target as last time: no search
        elif explicit is not None:
            contact_id = explicit
        else:
            contact_id = await self._search(adapter, request)
        previous = stored.crm_contact_id if stored is not None else None
        existing = stored.crm_activity_id if stored is not None else None
        if contact_id is None and previous is not None:
            # The record linked now has no contact in this CRM: the activity stays where it
            # is rather than losing its contact (said in the result).
            activity = await adapter.upsert_activity(
                request, contact_id=previous, existing_activity_id=existing)
            kept = f"no contact in {adapter.name} for the linked record: left on {previous}"
            return activity, previous, target, activity.detail or kept
        moving = previous is not None and previous != contact_id
        activity = await adapter.upsert_activity(
            request, contact_id=contact_id, existing_activity_id=existing,
            previous_contact_id=previous if moving else None,
        )
        detail: str | None = None
        if moving:
            detail = activity.detail or f"re-associated from contact {previous} to {contact_id}"
            log.info("activity_reassociated", crm=adapter.name, target=request.target)
        return activity, contact_id, target, detail

    async def _search(self, adapter: CrmAdapter, request: ActivityRequested) -> str | None:
        phone, email = request.customer_phone, request.customer_email
        if phone is None and email is None:
            return None
        found = await adapter.find_contact(phone=phone, email=email)
        if found is None and self.create_contacts:
            found = await adapter.upsert_contact(ContactDraft(phone=phone, email=email))
        return found.id if found is not None else None

    def _result(self, request: ActivityRequested, crm: str, entry: LedgerEntry) -> ActivityResult:
        return result_for(request, crm, entry.status, activity_id=entry.crm_activity_id,
                          contact_id=entry.crm_contact_id, record_url=entry.record_url,
                          detail=entry.detail)
