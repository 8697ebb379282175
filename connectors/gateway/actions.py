"""POST /v1/desktop/actions: an agent's action -> DesktopActionTaken on c360.desktop.v1 (and
the privileged ones an AuditRecorded on c360.audit.v1)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.audit import audit_record, looks_identifying
from core.crm.ports import CRM_NAMES
from infra.audit_kafka import audit_message
from infra.kafka_producer import Message
from schemas import codec, json_limits
from schemas.errors import C360Error, SchemaError
from schemas.records import AuditRecorded, DesktopActionTaken
from schemas.topics import AUDIT, DESKTOP

# What each action needs besides the interaction (streams/relink.py, streams/activities.py
# and core/related.py read them): profile actions a profile, record actions a record
# key `<crm>:<object type>:<id>`, a note its text; task/call/event text is optional.
NEEDS: dict[str, str | None] = {
    "open_profile": "profile_id",
    "relink": "profile_id",
    "add_note": "text",
    "add_task": None,
    "add_call": None,
    "add_event": None,
    "link_record": "record_id",
    "unlink_record": "record_id",
    "choose_crm": "crm",
}
# Actions that change which customer an interaction belongs to or what is shown of one:
# on the audit trail (docs/operations.md "Audit trail"); notes and tasks are not.
# choose_crm too: it sends the customer's activities to another system of record.
AUDITED = ("open_profile", "relink", "link_record", "unlink_record", "choose_crm")
MAX_TEXT = 10_000
MAX_ID = 256
MAX_BODY = 64 * 1024
_NS = uuid.UUID("5b0e7d0c-2f4e-5a51-9c7d-c360de5c7091")


class InvalidAction(C360Error):
    """The request body is not a valid desktop action; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Who acts (from the verified token, never from the body) and when."""

    tenant: str
    agent: str
    now: datetime


def _str(doc: dict[str, Any], name: str, limit: int, problems: list[str]) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be a string")
        return None
    value = value.strip()
    if len(value) > limit:
        problems.append(f"{name} is longer than {limit} characters")
        return None
    return value or None


def parse_action(body: bytes, ctx: ActionContext) -> DesktopActionTaken:
    """Validate a JSON body `{action, interaction_id, profile_id?, record_id?, text?, crm?,
    client_action_id?}`. The event id derives from (tenant, agent, client_action_id) when
    the panel sends one, so a retried click publishes the same event (downstream handlers
    are idempotent by event id) — one note, not two."""
    try:
        doc = json_limits.loads(body)  # bounded depth: a 400, never a RecursionError
    except (SchemaError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidAction([f"body is not JSON within limits: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise InvalidAction(["body must be a JSON object"])
    problems: list[str] = []
    action = doc.get("action")
    if action not in NEEDS:
        problems.append("action must be one of " + ", ".join(NEEDS))
    interaction = _str(doc, "interaction_id", MAX_ID, problems)
    if interaction is None:
        problems.append("interaction_id is required")
    fields = {
        "profile_id": _str(doc, "profile_id", MAX_ID, problems),
        "record_id": _str(doc, "record_id", MAX_ID, problems),
        "text": _str(doc, "text", MAX_TEXT, problems),
        "crm": _str(doc, "crm", MAX_ID, problems),
    }
    if fields["crm"] is not None and fields["crm"] not in CRM_NAMES:
        problems.append("crm must be one of " + ", ".join(CRM_NAMES))
    client_id = _str(doc, "client_action_id", MAX_ID, problems)
    needed = NEEDS.get(str(action))
    if needed is not None and fields[needed] is None:
        problems.append(f"{needed} is required for {action}")
    if problems:
        raise InvalidAction(problems)
    event_id = (
        str(uuid.uuid5(_NS, f"{ctx.tenant}:{ctx.agent}:{client_id}"))
        if client_id
        else str(uuid.uuid4())
    )
    return DesktopActionTaken(
        event_id=event_id,
        tenant_id=ctx.tenant,
        occurred_at=ctx.now,
        agent_id=ctx.agent,
        interaction_id=str(interaction),
        action=str(action),
        profile_id=fields["profile_id"],
        record_id=fields["record_id"],
        text=fields["text"],
        crm=fields["crm"],
    )


def audit_of(record: DesktopActionTaken) -> AuditRecorded | None:
    """The audit record of a privileged action (None for the others): the agent, the
    interaction, the profile or record it names and the action's event id, which is also its
    cause, so a retried click (same event id) records the same audit id. A value that could
    be a phone number or an email is withheld (the desktop event still holds it); an agent
    id that could be one (an OIDC subject that is an email) is recorded as its sha256."""
    if record.action not in AUDITED:
        return None
    details = {"action_event_id": record.event_id}
    named = (("profile_id", record.profile_id), ("record_id", record.record_id),
             ("crm", record.crm))
    for name, value in named:
        if value is not None:
            details[name] = _withheld(value)
    actor = record.agent_id
    if looks_identifying(actor):
        actor = hashlib.sha256(actor.encode()).hexdigest()[:32]
        details["actor_hashed"] = "sha256"
    return audit_record(
        tenant=record.tenant_id,
        actor_kind="agent",
        actor=actor,
        action=record.action,
        target=_withheld(record.interaction_id),
        outcome="ok",
        at=record.occurred_at,
        details=details,
        cause=record.event_id,
    )


def action_messages(record: DesktopActionTaken, desktop_topic: str) -> list[Message]:
    """What one action publishes, in one batch (acknowledged together before the 202): the
    DesktopActionTaken keyed by interaction, and for a privileged action its audit record on
    the audit topic of the same deployment (the desktop topic's prefix)."""
    messages = [Message(desktop_topic, record.interaction_id.encode(), codec.encode(record))]
    audit = audit_of(record)
    if audit is not None:
        messages.append(audit_message(audit, desktop_topic.removesuffix(DESKTOP) + AUDIT))
    return messages


def _withheld(value: str) -> str:
    return "withheld" if looks_identifying(value) else value
