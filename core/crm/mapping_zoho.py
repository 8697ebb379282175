"""ActivityRequested / ContactDraft <-> Zoho CRM v3 records (Calls, Tasks, Contacts)."""

from __future__ import annotations

from typing import Any

from core.crm import mapping_common as mc
from core.crm.model import ContactDraft, CrmContact
from schemas.records import ActivityRequested

IDEMPOTENCY_FIELD = "C360_Idempotency_Key"  # custom single-line field, "Do not allow duplicates"
PLACEHOLDER_LAST_NAME = "Unknown"  # Contacts.Last_Name is mandatory
CONTACT_PHONE_FIELDS = ("Phone", "Mobile", "Home_Phone", "Other_Phone")
_CALL_TYPE = {"outbound": "Outbound"}
CREATE_ONLY = {"Calls": ("Call_Type",)}  # "You are trying to update the Call_Type" is refused


def module_for(request: ActivityRequested) -> str:
    """Calls for calls; every other kind is logged as a Task."""
    return "Calls" if request.kind == "call" else "Tasks"


def call_duration(seconds: int) -> str:
    """Zoho's mm:ss (minutes may exceed 59)."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def activity_record(request: ActivityRequested, contact_id: str | None) -> dict[str, Any]:
    """One record of the module_for() module, including create-only fields."""
    at = mc.started(request)
    record: dict[str, Any] = {
        "Subject": mc.clip(request.subject, 255),
        "Description": mc.clip(mc.description(request), 32000),
        IDEMPOTENCY_FIELD: request.idempotency_key,
    }
    if module_for(request) == "Calls":
        record |= {"Call_Type": _CALL_TYPE.get(request.direction or "", "Inbound"),
                   "Call_Start_Time": mc.iso_seconds(at),
                   "Call_Duration": call_duration(mc.duration_seconds(request))}
        if request.disposition_code:
            record["Call_Result"] = mc.clip(request.disposition_code, 255)
    else:
        record |= {"Status": "Not Started" if request.kind == "task" else "Completed",
                   "Due_Date": at.date().isoformat()}
    if contact_id:
        record["Who_Id"] = {"id": contact_id}
    return record


def updatable(module: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record without fields Zoho refuses to change after create."""
    return {k: v for k, v in record.items() if k not in CREATE_ONLY.get(module, ())}


def contact_record(draft: ContactDraft, *, creating: bool) -> dict[str, str]:
    """Contact fields; a create gets the placeholder Last_Name if none is known."""
    fields = {k: v for k, v in (("Email", draft.email), ("Phone", draft.phone),
                                ("First_Name", draft.first_name),
                                ("Last_Name", draft.last_name)) if v}
    if creating and "Last_Name" not in fields:
        fields["Last_Name"] = PLACEHOLDER_LAST_NAME
    return fields


def contact_from(record: dict[str, Any], app_url: str | None) -> CrmContact:
    """A CrmContact from a Contacts record."""
    ident = str(record["id"])
    phones = tuple(record[f] for f in CONTACT_PHONE_FIELDS if record.get(f))
    return CrmContact(id=ident, email=record.get("Email") or None, phones=phones,
                      first_name=record.get("First_Name") or None,
                      last_name=record.get("Last_Name") or None,
                      record_url=record_url(app_url, "Contacts", ident))


def record_url(app_url: str | None, module: str, ident: str) -> str | None:
    """https://crm.zoho.com/crm/<org>/tab/<Module>/<id> when the org URL is configured."""
    return f"{app_url.rstrip('/')}/tab/{module}/{ident}" if app_url else None


def search_params(text: str) -> dict[str, str]:
    """Contacts/search parameters for free text: `email` for an address, `phone` for a
    number, else `word` (a module-level word search). Parentheses and commas in a value
    are backslash-escaped, as the Search Records API requires."""
    escaped = "".join("\\" + ch if ch in "()," else ch for ch in text)
    if "@" in text:
        return {"email": text}
    if sum(ch.isdigit() for ch in text) >= 5 and not any(ch.isalpha() for ch in text):
        return {"phone": text}
    return {"word": escaped}
