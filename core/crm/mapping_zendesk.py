"""ActivityRequested / ContactDraft <-> Zendesk Support tickets and users."""

from __future__ import annotations

from typing import Any

import phonenumbers

from core.crm import mapping_common as mc
from core.crm.model import ContactDraft, CrmContact
from schemas.records import ActivityRequested

PLACEHOLDER_NAME = "Caller"  # a new user needs a name; never invent a real one
REVISION_TAG = "c360_rev_"


def phone_query(e164: str) -> str:
    """Search for an end user by phone in any stored format: the digits of the national
    number after a leading * (Zendesk's documented caller lookup), no + or punctuation."""
    try:
        digits = phonenumbers.national_significant_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in e164 if ch.isdigit())
    return f"type:user phone:*{digits}"


def email_query(email: str) -> str:
    """Search for a user by email (quoted, so the address is one term)."""
    return f'type:user email:"{email}"'


def tags(request: ActivityRequested) -> list[str]:
    """c360 tags: origin, kind, and the revision written (to skip replays of it)."""
    return ["c360", f"c360_{request.kind}", f"{REVISION_TAG}{request.revision}"]


def has_revision(ticket: dict[str, Any], revision: int) -> bool:
    """True when this revision (or a later one) was already written to the ticket."""
    written = [int(t[len(REVISION_TAG):]) for t in ticket.get("tags") or []
               if t.startswith(REVISION_TAG) and t[len(REVISION_TAG):].isdigit()]
    return bool(written) and max(written) >= revision


def ticket_create(request: ActivityRequested, contact_id: str | None) -> dict[str, Any]:
    """POST /api/v2/tickets body: an internal note carries the description and links."""
    ticket: dict[str, Any] = {
        "subject": mc.clip(request.subject, 255),
        "comment": {"body": mc.description(request) or request.subject, "public": False},
        "external_id": request.idempotency_key,
        "tags": tags(request),
    }
    if contact_id:
        ticket["requester_id"] = _user_id(contact_id)
    return {"ticket": ticket}


def _user_id(contact_id: str) -> int | str:
    return int(contact_id) if contact_id.isdigit() else contact_id


def ticket_update(
    request: ActivityRequested, ticket: dict[str, Any], requester: str | None = None
) -> dict[str, Any]:
    """PUT body: new subject, the revised description as a new internal note (comments are
    immutable), revision tag replaced, other tags kept; `requester` (a relink) moves the
    ticket to that user."""
    kept = [t for t in ticket.get("tags") or [] if not t.startswith(REVISION_TAG)]
    body: dict[str, Any] = {
        "subject": mc.clip(request.subject, 255),
        "comment": {"body": mc.description(request) or request.subject, "public": False},
        "tags": list(dict.fromkeys([*kept, *tags(request)])),
    }
    if requester:
        body["requester_id"] = _user_id(requester)
    return {"ticket": body}


def user_body(draft: ContactDraft, *, creating: bool) -> dict[str, Any]:
    """create_or_update / update body; a new user gets a placeholder name if none is known."""
    name = " ".join(p for p in (draft.first_name, draft.last_name) if p)
    user = {k: v for k, v in (("email", draft.email), ("phone", draft.phone),
                              ("name", name)) if v}
    if creating and "name" not in user:
        user["name"] = PLACEHOLDER_NAME
    return {"user": user}


def contact_from(user: dict[str, Any], base_url: str) -> CrmContact:
    """A CrmContact from a user (search result or user object)."""
    ident = str(user["id"])
    first, _, last = (user.get("name") or "").partition(" ")
    return CrmContact(id=ident, email=user.get("email") or None,
                      phones=(user["phone"],) if user.get("phone") else (),
                      first_name=first or None, last_name=last or None,
                      record_url=f"{base_url}/agent/users/{ident}")


def ticket_url(base_url: str, ident: str) -> str:
    """The agent UI page of a ticket."""
    return f"{base_url}/agent/tickets/{ident}"


def user_search_query(text: str) -> str:
    """The Search Users `query`: each word as a quoted term (double quotes removed from the
    word), so operators like `role:` or `-` in what an agent types are searched, not run."""
    return " ".join(f'"{w}"' for w in (w.replace('"', "") for w in text.split()) if w)
