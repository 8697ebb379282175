"""Audit records of privileged actions: who, when, what, with nothing that identifies a customer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from schemas.records import AuditRecorded

ACTIONS = (
    "forget",
    "relink",
    "open_profile",
    "link_record",
    "unlink_record",
    "choose_crm",
    "contacts_import",
    "key_created",
    "key_revoked",
)
OUTCOMES = ("ok", "denied", "failed")
_NS = uuid.UUID("5b0f3c1e-8a7d-4e52-9c1b-2f6a7d3e9c40")
# A value that could be a phone number or an email must not reach the trail: raw
# identifiers live only where erasure can find them (docs/erasure.md), the trail is kept.
_LOOKS_IDENTIFYING = re.compile(r"@|\d[\d\s().-]{6,}\d")
MAX_DETAIL = 200


class UnsafeAuditValue(ValueError):
    """An audit field that could carry a customer identifier (never written)."""


def audit_record(
    *,
    tenant: str,
    actor_kind: str,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    at: datetime,
    details: Mapping[str, str] | None = None,
    cause: str | None = None,
) -> AuditRecorded:
    """One audit record. Its event id is a uuid5 of what happened, so a retried publish of
    the same action is a duplicate consumers drop; `cause` (the id of the event that did
    it: an erasure request, a desktop action) makes it a uuid5 of (tenant, action, outcome,
    cause) instead, so a retry built at another moment keeps the id too. UnsafeAuditValue
    when a detail, the actor or the target looks like a phone number or an email."""
    if action not in ACTIONS or outcome not in OUTCOMES:
        raise ValueError(f"unknown audit action/outcome {action!r}/{outcome!r}")
    clean = {str(k): str(v)[:MAX_DETAIL] for k, v in sorted((details or {}).items())}
    for name, value in (("actor", actor), ("target", target), *clean.items()):
        if looks_identifying(value):
            raise UnsafeAuditValue(f"audit field {name} looks like a customer identifier")
    at = at.astimezone(UTC)
    key = f"{tenant}|{actor_kind}|{actor}|{action}|{target}|{outcome}|{at.isoformat()}"
    if cause is not None:
        key = f"{tenant}|{action}|{outcome}|cause:{cause}"
    return AuditRecorded(
        event_id=str(uuid.uuid5(_NS, key)),
        tenant_id=tenant,
        occurred_at=at,
        actor_kind=actor_kind,
        actor=actor,
        action=action,
        target=target,
        outcome=outcome,
        details=clean,
    )


def looks_identifying(value: str) -> bool:
    """True when `value` could be a phone number or an email (audit_record refuses it)."""
    return bool(_LOOKS_IDENTIFYING.search(value)) and not _opaque(value)


def _opaque(value: str) -> bool:
    # Hex tokens, uuids and key ids are digit-heavy but identify no one.
    return bool(re.fullmatch(r"[0-9a-f-]{16,64}|[0-9]{1,6}", value))


class AuditTrail(Protocol):
    """Where audit records go (the audit topic; a list in tests)."""

    async def record(self, event: AuditRecorded) -> None:
        """Publish one record; raises when it could not be delivered."""
