"""ActivityRequested / ContactDraft <-> Salesforce REST sObjects Task and Contact."""

from __future__ import annotations

from typing import Any

from core.crm import mapping_common as mc
from core.crm.model import ContactDraft, CrmContact
from schemas.records import ActivityRequested

EXTERNAL_ID_FIELD = "C360_Idempotency_Key__c"  # custom Text field, External ID + Unique
CONTACT_FIELDS = ("Id", "Email", "Phone", "MobilePhone", "FirstName", "LastName")
PLACEHOLDER_LAST_NAME = "Unknown"  # Contact.LastName is required; never invent a real name
_SUBTYPE = {"call": "Call", "email": "Email"}
_CALL_TYPE = {"inbound": "Inbound", "outbound": "Outbound", "internal": "Internal"}
CREATE_ONLY = ("TaskSubtype",)  # Task field properties: Create, no Update


def task_fields(request: ActivityRequested, contact_id: str | None) -> dict[str, Any]:
    """Task fields for an upsert; TaskSubtype is included (strip CREATE_ONLY to update)."""
    at = mc.started(request)
    fields: dict[str, Any] = {
        "Subject": mc.clip(request.subject, 255),
        "Description": mc.clip(mc.description(request), 32000),
        "ActivityDate": at.date().isoformat(),
        "Status": "Not Started" if request.kind == "task" else "Completed",
        "Priority": "Normal",
        "TaskSubtype": _SUBTYPE.get(request.kind, "Task"),
    }
    if request.kind == "call":
        fields |= {
            "CallType": _CALL_TYPE.get(request.direction or "", "Inbound"),
            "CallDurationInSeconds": mc.duration_seconds(request),
            "CallObject": mc.clip(request.interaction_id, 255),
        }
        if request.disposition_code:
            fields["CallDisposition"] = mc.clip(request.disposition_code, 255)
    if contact_id:
        fields["WhoId"] = contact_id
    return fields


def updatable(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields without the create-only ones (what an update may send)."""
    return {k: v for k, v in fields.items() if k not in CREATE_ONLY}


def soql_literal(value: str) -> str:
    """A quoted SOQL string literal (backslash and quote escaped, per the SOQL reference)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def contact_query_by_email(email: str) -> str:
    """SOQL for a contact by email."""
    # Values are escaped by soql_literal; the rest is constant.
    return (f"SELECT {', '.join(CONTACT_FIELDS)} FROM Contact "  # noqa: S608
            f"WHERE Email = {soql_literal(email)} LIMIT 1")


def contact_query_by_phones(values: tuple[str, ...]) -> str:
    """SOQL for a contact whose Phone or MobilePhone is any of the spellings."""
    listed = ", ".join(soql_literal(v) for v in values)
    return (f"SELECT {', '.join(CONTACT_FIELDS)} FROM Contact "  # noqa: S608
            f"WHERE Phone IN ({listed}) OR MobilePhone IN ({listed}) LIMIT 1")


def contact_fields(draft: ContactDraft, *, creating: bool) -> dict[str, str]:
    """Contact fields from a draft; a create gets the placeholder LastName if none is known."""
    fields = {k: v for k, v in (("Email", draft.email), ("Phone", draft.phone),
                                ("FirstName", draft.first_name),
                                ("LastName", draft.last_name)) if v}
    if creating and "LastName" not in fields:
        fields["LastName"] = PLACEHOLDER_LAST_NAME
    return fields


def contact_from(record: dict[str, Any], instance_url: str) -> CrmContact:
    """A CrmContact from a SOQL record."""
    ident = str(record["Id"])
    phones = tuple(p for p in (record.get("Phone"), record.get("MobilePhone")) if p)
    return CrmContact(id=ident, email=record.get("Email") or None, phones=phones,
                      first_name=record.get("FirstName") or None,
                      last_name=record.get("LastName") or None,
                      record_url=record_url(instance_url, "Contact", ident))


def record_url(instance_url: str, sobject: str, ident: str) -> str:
    """The Lightning record page."""
    return f"{instance_url.rstrip('/')}/lightning/r/{sobject}/{ident}/view"


# SOSL reserved characters (SOQL and SOSL Reference, "FIND {SearchQuery}": escape
# & | ! ( ) { } [ ] ^ " ~ * ? : \ ' + - with a backslash).
_SOSL_RESERVED = frozenset("&|!(){}[]^\"~*?:\\'+-")


def sosl_escape(text: str) -> str:
    """A search term with every SOSL reserved character backslash-escaped."""
    return "".join("\\" + ch if ch in _SOSL_RESERVED else ch for ch in text)


def contact_search(text: str, limit: int) -> str:
    """SOSL for contacts matching every word of `text` as a prefix (escaped words, each
    followed by the * wildcard), in all searchable fields."""
    words = [sosl_escape(w) + "*" for w in text.split()][:10]
    return (f"FIND {{{' '.join(words)}}} IN ALL FIELDS "
            f"RETURNING Contact({', '.join(CONTACT_FIELDS)}) LIMIT {limit}")
