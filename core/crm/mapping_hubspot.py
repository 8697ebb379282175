"""ActivityRequested / ContactDraft <-> HubSpot CRM v3 objects (field names live only here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.crm import mapping_common as mc
from core.crm.model import ContactDraft, CrmContact
from schemas.records import ActivityRequested

IDEMPOTENCY_PROPERTY = "c360_idempotency_key"  # custom property created on each object type
CONTACT_PROPERTIES = ("email", "phone", "mobilephone", "firstname", "lastname")
SEARCH_LIMIT = 200  # the search endpoints' maximum page size


@dataclass(frozen=True, slots=True)
class HubSpotObject:
    """Where an activity goes: object path, its typeId (record URLs) and the
    HUBSPOT_DEFINED association type id from that object to a contact."""

    path: str
    type_id: str
    to_contact: int


CALLS = HubSpotObject("calls", "0-48", 194)
NOTES = HubSpotObject("notes", "0-46", 202)
TASKS = HubSpotObject("tasks", "0-27", 204)
EMAILS = HubSpotObject("emails", "0-49", 198)
MEETINGS = HubSpotObject("meetings", "0-47", 200)
COMMUNICATIONS = HubSpotObject("communications", "0-18", 81)
CONTACT_TYPE_ID = "0-1"
_MESSAGING = {"sms": "SMS", "whatsapp": "WHATS_APP"}


def object_for(request: ActivityRequested) -> HubSpotObject:
    """calls for calls, emails, tasks, meetings for events, communications for SMS and
    WhatsApp conversations (HubSpot's channel types), notes for web chat and notes."""
    kind = request.kind
    if kind == "call":
        return CALLS
    if kind == "email":
        return EMAILS
    if kind == "task":
        return TASKS
    if kind == "event":
        return MEETINGS
    if kind == "chat" and request.channel in _MESSAGING:
        return COMMUNICATIONS
    return NOTES


def activity_properties(request: ActivityRequested) -> dict[str, str]:
    """The `properties` object of a create/update for the request's object type."""
    at = mc.started(request)
    text = mc.description(request)
    props: dict[str, str] = {"hs_timestamp": str(mc.epoch_ms(at)),
                             IDEMPOTENCY_PROPERTY: request.idempotency_key}
    target = object_for(request)
    if target is CALLS:
        props |= {
            "hs_call_title": request.subject,
            "hs_call_body": text,
            "hs_call_duration": str(mc.duration_seconds(request) * 1000),
            "hs_call_direction": "OUTBOUND" if mc.is_outbound(request) else "INBOUND",
            "hs_call_status": "COMPLETED",
        }
        if request.recording_url:
            props["hs_call_recording_url"] = request.recording_url
    elif target is EMAILS:
        props |= {"hs_email_subject": request.subject, "hs_email_text": text,
                  "hs_email_direction": "EMAIL" if mc.is_outbound(request) else "INCOMING_EMAIL",
                  "hs_email_status": "SENT"}
    elif target is TASKS:
        props |= {"hs_task_subject": request.subject, "hs_task_body": text,
                  "hs_task_status": "NOT_STARTED", "hs_task_type": "TODO"}
    elif target is MEETINGS:
        end = mc.epoch_ms(at) + mc.duration_seconds(request) * 1000
        props |= {"hs_meeting_title": request.subject, "hs_meeting_body": text,
                  "hs_meeting_start_time": str(mc.epoch_ms(at)), "hs_meeting_end_time": str(end)}
    elif target is COMMUNICATIONS:
        props |= {"hs_communication_channel_type": _MESSAGING[request.channel or ""],
                  "hs_communication_logged_from": "CRM",
                  "hs_communication_body": f"{request.subject}\n\n{text}".strip()}
    else:
        props["hs_note_body"] = f"{request.subject}\n\n{text}".strip()
    return props


def association_types(target: HubSpotObject) -> list[dict[str, Any]]:
    """The HUBSPOT_DEFINED association type from the activity object to a contact."""
    return [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": target.to_contact}]


def activity_create(request: ActivityRequested, contact_id: str | None) -> dict[str, Any]:
    """POST body: properties plus an association to the contact when there is one."""
    body: dict[str, Any] = {"properties": activity_properties(request)}
    if contact_id:
        body["associations"] = [{"to": {"id": contact_id},
                                 "types": association_types(object_for(request))}]
    return body


def association_path(target: HubSpotObject, ident: str, contact_id: str) -> str:
    """v4: /crm/v4/objects/<activity type>/<id>/associations/contacts/<contact id> (PUT
    with the types creates the association, DELETE removes every association between the
    two records)."""
    return f"/crm/v4/objects/{target.path}/{ident}/associations/contacts/{contact_id}"


def search_by(
    property_name: str, values: tuple[str, ...], props: tuple[str, ...]
) -> dict[str, Any]:
    """A search body: one filter group per value (groups are ORed; EQ is exact)."""
    return {
        "filterGroups": [{"filters": [{"propertyName": property_name, "operator": "EQ",
                                       "value": value}]} for value in values],
        "properties": list(props),
        "limit": 1,
    }


def contact_properties(draft: ContactDraft) -> dict[str, str]:
    """Contact properties set from a draft (absent values are not sent, so not erased)."""
    pairs = {"email": draft.email, "phone": draft.phone, "firstname": draft.first_name,
             "lastname": draft.last_name}
    return {k: v for k, v in pairs.items() if v}


def contact_from(record: dict[str, Any], app_url: str | None) -> CrmContact:
    """A CrmContact from a v3 object ({"id", "properties"})."""
    props = record.get("properties") or {}
    ident = str(record["id"])
    phones = tuple(p for p in (props.get("phone"), props.get("mobilephone")) if p)
    return CrmContact(id=ident, email=props.get("email") or None, phones=phones,
                      first_name=props.get("firstname") or None,
                      last_name=props.get("lastname") or None,
                      record_url=record_url(app_url, CONTACT_TYPE_ID, ident))


def record_url(app_url: str | None, type_id: str, ident: str) -> str | None:
    """https://app.hubspot.com/contacts/<portal>/record/<typeId>/<id> when the app URL
    (with the portal id) is configured."""
    return f"{app_url.rstrip('/')}/record/{type_id}/{ident}" if app_url else None
