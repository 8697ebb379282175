"""The desktop's contact search and profile routes (docs/desktop.md "Search, create and edit"):
GET /v1/desktop/search, POST /v1/desktop/link-crm-contact, POST /v1/desktop/profiles,
GET and PATCH /v1/desktop/profiles/{id}, GET /v1/desktop/profile-form. Each function returns
(status, JSON body); the gateway (connectors.gateway.web) authenticates and answers."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from connectors.gateway.actions import MAX_ID, action_messages
from connectors.gateway.auth import AgentIdentity
from connectors.gateway.desk import ProfileDesk
from core.crm.model import ContactDraft, CrmContact
from core.crm.ports import CRM_NAMES
from core.profile_edit import (
    ProfileFields,
    create_form,
    merge_edit,
    profile_doc,
    read_fields,
    result_of_contact,
    result_of_profile,
    split_name,
)
from core.profile_fields import email_value, phone_normalizer
from core.profile_search import (
    InvalidQuery,
    crm_term,
    merge_ids,
    plan_query,
    term_hash,
)
from core.profiles import Profile
from infra.kafka_producer import Message, Publisher, PublishFailed
from schemas import codec, json_limits
from schemas.errors import C360Error, SchemaError
from schemas.records import DesktopActionTaken, ProfileUpserted

log = structlog.get_logger("c360.gateway.profiles")
Answer = tuple[int, dict[str, Any]]
PROFILE_PREFIX = "p-"  # new profile ids: p-<uuid4 hex>; CRM-linked ones: p-<crm>-<hash>
SOURCE = "agent"
_NS = uuid.UUID("0b9e1c52-7f3a-4d6e-9a41-c360de5c7c11")  # create attempts -> profile ids


def _problem(status: int, error: str, problems: Sequence[str]) -> Answer:
    return status, {"error": error, "detail": "; ".join(problems), "problems": list(problems)}


def _body(raw: bytes) -> dict[str, Any] | Answer:
    try:
        doc = json_limits.loads(raw)
    except (SchemaError, ValueError, UnicodeDecodeError) as exc:
        return _problem(400, "invalid_request", [f"body is not JSON within limits: {exc}"])
    if not isinstance(doc, dict):
        return _problem(400, "invalid_request", ["body must be a JSON object"])
    return doc


def _id(doc: Mapping[str, Any], name: str, problems: list[str], *, required: bool) -> str | None:
    value = doc.get(name)
    if value is None or value == "":
        if required:
            problems.append(f"{name}: required")
        return None
    if not isinstance(value, str) or len(value) > MAX_ID or not value.strip():
        problems.append(f"{name}: a string of at most {MAX_ID} characters")
        return None
    return value.strip()


@dataclass(frozen=True, slots=True)
class ProfileRoutes:
    """The routes' logic on a ProfileDesk, the gateway's publisher and clock."""

    desk: ProfileDesk
    publisher: Publisher
    desktop_topic: str
    clock: Callable[[], float]

    # -- helpers ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def _normalizers(self, tenant: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
        return phone_normalizer(self.desk.region_for(tenant)), email_value

    def _upsert(self, tenant: str, pid: str, fields: ProfileFields,
                crm_ids: Mapping[str, str], event_id: str | None = None) -> ProfileUpserted:
        return ProfileUpserted(
            event_id=event_id or str(uuid.uuid4()), tenant_id=tenant, occurred_at=self._now(),
            profile_id=pid, display_name=fields.display_name, phones=fields.phones,
            emails=fields.emails, attributes=dict(fields.attributes), source=SOURCE,
            crm_ids=dict(crm_ids))

    def _relink(self, who: AgentIdentity, interaction: str, pid: str, crm: str | None,
                crm_id: str | None, event_id: str | None = None) -> DesktopActionTaken:
        record = f"{crm}:contact:{crm_id}" if crm and crm_id else None
        return DesktopActionTaken(
            event_id=event_id or str(uuid.uuid4()), tenant_id=who.tenant, occurred_at=self._now(),
            agent_id=who.agent, interaction_id=interaction, action="relink", profile_id=pid,
            record_id=record, crm=crm if record else None)

    async def _publish(self, upsert: ProfileUpserted | None,
                       relink: DesktopActionTaken | None) -> Answer | None:
        messages: list[Message] = []
        if upsert is not None:
            key = f"{upsert.tenant_id}:{upsert.profile_id}".encode()
            messages.append(Message(self.desk.contacts_topic, key, codec.encode(upsert)))
        if relink is not None:
            messages += action_messages(relink, self.desktop_topic)
        try:
            await self.publisher.publish(messages)
        except PublishFailed as exc:
            log.warning("desk_unpublished", error=str(exc))
            return 503, {"error": "unavailable", "detail": "broker unavailable"}
        return None

    async def _holder(self, tenant: str, crm: str, crm_id: str) -> Profile | None:
        """The live profile holding this CRM record id (its crm_ids), if any."""
        term = term_hash(self.desk.pepper, tenant, crm_term(crm, crm_id))
        for pid in await self.desk.search.search(tenant, [(term,)], 5):
            profile = await self.desk.profiles.get(tenant, pid)
            if profile is not None and profile.crm_ids.get(crm) == crm_id:
                return profile
        return None

    # -- GET /v1/desktop/search ------------------------------------------------------------
    async def search(self, who: AgentIdentity, q: str, chosen: str | None = None) -> Answer:
        """Directory and (concurrently, bounded by a timeout) the agent's CRM (`chosen`: the
        one the agent picked for the interaction, else the routing's); a CRM contact a
        profile already holds shows once, as that profile with crm_id set."""
        tenant = who.tenant
        try:
            plan = plan_query(q, tenant, self.desk.pepper, self.desk.region_for(tenant),
                              self.desk.schemas.for_tenant(tenant))
        except InvalidQuery as exc:
            return _problem(400, "invalid_query", [str(exc)])
        crm = chosen or self.desk.crms.crm_for(tenant, who.agent)
        crm_text = plan.phone or plan.email or " ".join(q.split())
        crm_task = asyncio.create_task(self._crm_search(crm, crm_text)) if crm else None
        try:
            limit = self.desk.search_limit
            by_token = await self.desk.profiles.lookup_many(tenant, list(plan.tokens))
            by_term = await self.desk.search.search(tenant, plan.groups, limit)
            ids = merge_ids([*by_token, by_term], limit)
            found = await self.desk.profiles.get_many(tenant, ids)
        except C360Error:
            if crm_task is not None:
                crm_task.cancel()
            raise
        profiles = [found[i] for i in ids if i in found]
        errors: list[dict[str, str]] = []
        contacts: list[CrmContact] = []
        if crm_task is not None and crm is not None:
            contacts, error = await crm_task
            if error:
                errors.append({"source": crm, "message": error})
        results = [result_of_profile(p, crm) for p in profiles]
        if crm is not None and contacts:
            results += await self._merge_contacts(tenant, crm, contacts, results)
        log.info("desk_search", tenant=tenant, agent=who.agent, kind=plan.kind,
                 results=len(results), errors=len(errors))
        return 200, {"results": results, "errors": errors}

    async def _crm_search(self, crm: str, text: str) -> tuple[list[CrmContact], str | None]:
        try:
            adapter = await self.desk.crms.adapter(crm)
            found = await asyncio.wait_for(
                adapter.search_contacts(text, limit=self.desk.crm_search_limit),
                self.desk.crm_timeout_seconds)
        except TimeoutError:
            return [], f"{crm}: no answer within {self.desk.crm_timeout_seconds:g}s"
        except C360Error as exc:  # CrmError and its kinds; messages carry no PII (excerpt)
            return [], str(exc)[:300]
        return found, None

    async def _merge_contacts(self, tenant: str, crm: str, contacts: list[CrmContact],
                              results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """CRM results not already shown: a contact held by a shown profile fills that
        result's record URL; one held by another profile shows as that profile."""
        shown = {r["crm_id"]: r for r in results if r["crm_id"]}
        extra: list[dict[str, Any]] = []
        for contact in contacts:
            if contact.id in shown:
                shown[contact.id]["record_url"] = contact.record_url
                continue
            holder = await self._holder(tenant, crm, contact.id)
            entry = (result_of_profile(holder, crm) if holder is not None
                     else result_of_contact(contact, crm))
            entry["record_url"] = contact.record_url
            if holder is not None and holder.profile_id in {r["profile_id"] for r in results}:
                continue
            shown[contact.id] = entry
            extra.append(entry)
        return extra

    # -- POST /v1/desktop/link-crm-contact ---------------------------------------------------
    async def link_crm_contact(self, who: AgentIdentity, raw: bytes) -> Answer:
        """Link the interaction to the profile holding a CRM contact, creating that profile
        (crm_ids {crm: id}) when none does; then relink (audited)."""
        doc = _body(raw)
        if not isinstance(doc, dict):
            return doc
        problems: list[str] = []
        interaction = _id(doc, "interaction_id", problems, required=True)
        crm = _id(doc, "crm", problems, required=True)
        crm_id = _id(doc, "crm_id", problems, required=True)
        if crm is not None and crm not in CRM_NAMES:
            problems.append(f"crm: one of {', '.join(CRM_NAMES)}")
        if problems:
            return _problem(400, "invalid_request", problems)
        assert interaction is not None and crm is not None and crm_id is not None
        tenant = who.tenant
        holder = await self._holder(tenant, crm, crm_id)
        upsert = None
        if holder is not None:
            pid = holder.profile_id
        else:
            # The id derives from the CRM record: a second click before the first profile
            # is indexed names the same profile instead of creating a twin.
            digest = hashlib.sha256(f"{tenant}\x1f{crm}\x1f{crm_id}".encode()).hexdigest()
            pid = f"{PROFILE_PREFIX}{crm}-{digest[:24]}"
            phone, email = self._normalizers(tenant)
            # A CRM's stored numbers may not all read as phones: keep what validates.
            fields, _dropped = read_fields(
                {k: doc.get(k) for k in ("display_name", "phones", "emails")},
                self.desk.schemas.for_tenant(tenant), phone, email, partial=True)
            fields = ProfileFields(fields.display_name,
                                   tuple(p for p in fields.phones if _valid(phone, p)),
                                   tuple(e for e in fields.emails if _valid(email, e)))
            upsert = self._upsert(tenant, pid, fields, {crm: crm_id})
        relink = self._relink(who, interaction, pid, crm, crm_id)
        failed = await self._publish(upsert, relink)
        if failed:
            return failed
        log.info("desk_link_crm_contact", tenant=tenant, agent=who.agent, crm=crm,
                 created=upsert is not None, event_id=relink.event_id)
        return 202, {"profile_id": pid, "created": upsert is not None,
                     "event_id": relink.event_id}

    # -- POST /v1/desktop/profiles -----------------------------------------------------------
    async def create(self, who: AgentIdentity, raw: bytes) -> Answer:
        """A new profile (source "agent"), optionally its CRM contact first (its id goes into
        crm_ids), and with an interaction a relink to it."""
        doc = _body(raw)
        if not isinstance(doc, dict):
            return doc
        tenant = who.tenant
        phone, email = self._normalizers(tenant)
        fields, problems = read_fields(doc, self.desk.schemas.for_tenant(tenant), phone, email)
        interaction = _id(doc, "interaction_id", problems, required=False)
        create_in_crm = doc.get("create_in_crm", False)
        if not isinstance(create_in_crm, bool):
            problems.append("create_in_crm: true or false")
        crm = _id(doc, "crm", problems, required=False)
        if crm is not None and crm not in CRM_NAMES:
            problems.append(f"crm: one of {', '.join(CRM_NAMES)}")
        client = _id(doc, "client_action_id", problems, required=False)
        if not (fields.display_name or fields.phones or fields.emails):
            problems.append("a display_name, a phone or an email is required")
        if create_in_crm is True:
            crm = crm or self.desk.crms.crm_for(tenant, who.agent)
            if crm is None:
                problems.append("create_in_crm: this tenant has no CRM")
        if problems:
            return _problem(422, "invalid_profile", problems)
        # A retried submit (same client_action_id from the same agent) names the same profile
        # and the same events: one profile, however often the agent clicks or the network
        # drops the answer.
        attempt = uuid.uuid5(_NS, f"{tenant}:{who.agent}:{client}") if client else None
        pid = PROFILE_PREFIX + (attempt or uuid.uuid4()).hex
        upsert_id = str(uuid.uuid5(attempt, "profile")) if attempt else None
        relink_id = str(uuid.uuid5(attempt, "relink")) if attempt else None
        crm_ids: dict[str, str] = {}
        crm_error = None
        if create_in_crm is True and crm is not None:
            contact, crm_error = await self._create_contact(crm, fields, phone, email)
            if contact is not None:
                crm_ids[crm] = contact.id
        crm_id = crm_ids.get(crm or "")
        relink = (self._relink(who, interaction, pid, crm if crm_id else None, crm_id,
                               relink_id) if interaction else None)
        failed = await self._publish(self._upsert(tenant, pid, fields, crm_ids, upsert_id),
                                     relink)
        if failed:
            return failed
        log.info("desk_profile_created", tenant=tenant, agent=who.agent, profile_id=pid,
                 crm=crm if crm_id else None, relinked=relink is not None)
        answer: dict[str, Any] = {"profile_id": pid, "crm_id": crm_id}
        if crm_error:
            answer["crm_error"] = crm_error
        return 201, answer

    async def _create_contact(self, crm: str, fields: ProfileFields,
                              phone: Callable[[str], str],
                              email: Callable[[str], str]) -> tuple[CrmContact | None, str | None]:
        first, last = split_name(fields.display_name)
        draft = ContactDraft(
            phone=phone(fields.phones[0]) if fields.phones else None,
            email=email(fields.emails[0]) if fields.emails else None,
            first_name=first, last_name=last)
        try:
            adapter = await self.desk.crms.adapter(crm)
            contact = await asyncio.wait_for(adapter.upsert_contact(draft),
                                             self.desk.crm_timeout_seconds)
        except TimeoutError:
            return None, f"{crm}: no answer within {self.desk.crm_timeout_seconds:g}s"
        except C360Error as exc:
            return None, str(exc)[:300]
        return contact, None

    # -- GET /v1/desktop/profile-form ---------------------------------------------------------
    async def form(self, who: AgentIdentity) -> Answer:
        """The fields of the create form for the token's tenant (no profile needed)."""
        tenant = who.tenant
        return 200, {"fields": create_form(self.desk.layouts.for_tenant(tenant),
                                           self.desk.schemas.for_tenant(tenant))}

    # -- GET / PATCH /v1/desktop/profiles/{id} -----------------------------------------------
    async def get(self, who: AgentIdentity, profile_id: str) -> Answer:
        """The profile of the token's tenant (404 otherwise) with its editable fields."""
        profile = await self.desk.profiles.get(who.tenant, profile_id)
        if profile is None:
            return 404, {"error": "not_found", "detail": "no such profile"}
        return 200, profile_doc(profile, self.desk.layouts.for_tenant(who.tenant),
                                self.desk.schemas.for_tenant(who.tenant))

    async def patch(self, who: AgentIdentity, profile_id: str, raw: bytes) -> Answer:
        """Edit the fields the tenant's layout marks editable; 422 lists every problem."""
        doc = _body(raw)
        if not isinstance(doc, dict):
            return doc
        tenant = who.tenant
        profile = await self.desk.profiles.get(tenant, profile_id)
        if profile is None:
            return 404, {"error": "not_found", "detail": "no such profile"}
        layout, schema = self.desk.layouts.for_tenant(tenant), self.desk.schemas.for_tenant(tenant)
        phone, email = self._normalizers(tenant)
        merged, problems = merge_edit(profile, doc, layout, schema, phone, email)
        if problems:
            return _problem(422, "invalid_profile", problems)
        upsert = self._upsert(tenant, profile_id, merged, profile.crm_ids)
        failed = await self._publish(upsert, None)
        if failed:
            return failed
        log.info("desk_profile_edited", tenant=tenant, agent=who.agent, profile_id=profile_id,
                 fields=sorted(doc), event_id=upsert.event_id)
        return 200, {"profile_id": profile_id, "event_id": upsert.event_id,
                     "display_name": merged.display_name, "phones": list(merged.phones),
                     "emails": list(merged.emails), "attributes": merged.attributes}


def _valid(norm: Callable[[str], str], raw: str) -> bool:
    try:
        norm(raw)
    except ValueError:
        return False
    return True
