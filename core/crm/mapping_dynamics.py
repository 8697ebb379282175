"""ActivityRequested / ContactDraft <-> Dataverse Web API phonecall, task and contact rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.crm import mapping_common as mc
from core.crm.model import ContactDraft, CrmContact
from schemas.records import ActivityRequested

ALTERNATE_KEY = "c360_idempotencykey"  # custom column with an alternate key on each table
CONTACT_SELECT = ("contactid", "firstname", "lastname", "emailaddress1", "telephone1",
                  "telephone2", "mobilephone")
PHONE_COLUMNS = ("telephone1", "mobilephone", "telephone2")
SUBJECT_MAX = 200  # activitypointer.subject max length


def entity_set(request: ActivityRequested) -> str:
    """phonecalls for calls; every other kind becomes a task."""
    return "phonecalls" if request.kind == "call" else "tasks"


def _logical(entity_set_name: str) -> str:
    return entity_set_name.removesuffix("s")


def activity_row(request: ActivityRequested, contact_id: str | None) -> dict[str, Any]:
    """Columns of a phonecall/task upsert; the regarding contact is bound by
    regardingobjectid_contact_<table>@odata.bind (the table-specific navigation property)."""
    target = entity_set(request)
    at = mc.started(request)
    seconds = mc.duration_seconds(request)
    row: dict[str, Any] = {
        "subject": mc.clip(request.subject, SUBJECT_MAX),
        "description": mc.description(request),
        "actualstart": mc.iso_z(at),
        "actualend": mc.iso_z(at + timedelta(seconds=seconds)),
        "actualdurationminutes": mc.whole_minutes(seconds),
    }
    if target == "phonecalls":
        row["directioncode"] = mc.is_outbound(request)  # true = outgoing
        if request.customer_phone:
            row["phonenumber"] = request.customer_phone
    if contact_id:
        row[f"regardingobjectid_contact_{_logical(target)}@odata.bind"] = f"/contacts({contact_id})"
    return row


def odata_literal(value: str) -> str:
    """An OData string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def key_segment(entity_set_name: str, key: str) -> str:
    """/phonecalls(c360_idempotencykey='...') — the row addressed by its alternate key."""
    return f"/{entity_set_name}({ALTERNATE_KEY}={odata_literal(key)})"


def email_filter(email: str) -> str:
    """$filter for a contact by email."""
    return f"emailaddress1 eq {odata_literal(email)}"


def phone_filter(values: tuple[str, ...]) -> str:
    """$filter for a contact whose business, mobile or second phone is any spelling."""
    return " or ".join(f"{column} eq {odata_literal(v)}" for column in PHONE_COLUMNS
                       for v in values)


def contact_row(draft: ContactDraft) -> dict[str, str]:
    """Contact columns from a draft (absent values are not sent, so not erased)."""
    return {k: v for k, v in (("emailaddress1", draft.email), ("telephone1", draft.phone),
                              ("firstname", draft.first_name),
                              ("lastname", draft.last_name)) if v}


def contact_from(row: dict[str, Any], base_url: str) -> CrmContact:
    """A CrmContact from a contact row."""
    ident = str(row["contactid"])
    phones = tuple(row[c] for c in PHONE_COLUMNS if row.get(c))
    return CrmContact(id=ident, email=row.get("emailaddress1") or None, phones=phones,
                      first_name=row.get("firstname") or None,
                      last_name=row.get("lastname") or None,
                      record_url=record_url(base_url, "contact", ident))


def record_url(base_url: str, logical_name: str, ident: str) -> str:
    """The model-driven app's record form."""
    return f"{base_url}/main.aspx?etn={logical_name}&id={ident}&pagetype=entityrecord"


def logical_name(entity_set_name: str) -> str:
    """phonecalls -> phonecall, tasks -> task."""
    return _logical(entity_set_name)


SEARCH_COLUMNS = ("fullname", "emailaddress1", "telephone1", "mobilephone")


def search_filter(text: str) -> str:
    """$filter for contacts whose full name, email or phone contains the text (OData
    contains(); the literal quoted by odata_literal; URL-encoding is the client's job)."""
    literal = odata_literal(text)
    return " or ".join(f"contains({column},{literal})" for column in SEARCH_COLUMNS)
