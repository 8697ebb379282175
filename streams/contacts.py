"""Contacts use case: a ProfileUpserted (CSV import, CRM sync, API) into the profile directory."""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog

from core.crm.ports import CRM_NAMES
from core.identity import Identifier, normalize_email, normalize_phone, party_token
from core.profile_schema import TenantSchema, validate_attributes
from core.profiles import Profile, ProfileIdentifier
from core.timeline import to_ms
from schemas.errors import C360Error
from schemas.records import ProfileUpserted
from streams.handlers import Deps, Outgoing
from streams.settings import StreamSettings

log = structlog.get_logger("c360.contacts")
# Profile ids go into Redis keys inside a `{...}` hash tag and must not be PII: no braces,
# no whitespace or control characters, no '@' (an email address used as an id).
_PROFILE_ID = re.compile(r"^[^\s{}@\x00-\x1f\x7f]{1,200}$")
MAX_IDENTIFIERS = 20
_CRM_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")


class InvalidProfile(C360Error, ValueError):
    """A profile record that cannot enter the directory (permanent: dead-letter it)."""


def check_profile_id(profile_id: str) -> None:
    """Raise InvalidProfile for ids that are empty, too long, or unsafe in keys."""
    if not _PROFILE_ID.match(profile_id or ""):
        msg = "profile_id must be 1-200 characters without spaces, braces or '@'"
        raise InvalidProfile(msg)


def phone_normalizer(region: str) -> Callable[[str], str]:
    """Raw phone -> E.164; ValueError for anything that is not a dialable number."""

    def phone(raw: str) -> str:
        found = normalize_phone(raw, region)
        if found.kind != "phone" or found.value is None:
            raise ValueError(f"not a customer phone number ({found.kind})")
        return found.value

    return phone


def email_value(raw: str) -> str:
    """Raw email -> normalized address; ValueError when invalid."""
    value = normalize_email(raw).value
    if value is None:  # pragma: no cover - normalize_email always sets a value
        raise ValueError("not a valid email address")
    return value


def identifiers_of(
    tenant_id: str, phones: tuple[str, ...], emails: tuple[str, ...], settings: StreamSettings
) -> tuple[tuple[ProfileIdentifier, ...], list[str]]:
    """Normalized, tokenized, de-duplicated identifiers and the problems (no raw values)."""
    phone = phone_normalizer(settings.region_for(tenant_id))
    found: dict[str, ProfileIdentifier] = {}
    problems: list[str] = []
    for kind, raws, norm in (("phone", phones, phone), ("email", emails, email_value)):
        for n, raw in enumerate(raws, start=1):
            if not raw.strip():
                continue
            try:
                value = norm(raw)
            except ValueError as exc:
                problems.append(f"{kind}s[{n}]: {exc}")
                continue
            # The token hashes (kind, normalized value) only: no second normalization.
            token = party_token(settings.pii_pepper, tenant_id, Identifier(kind, value))
            found.setdefault(token, ProfileIdentifier(kind, value, token))
    if len(found) > MAX_IDENTIFIERS:
        problems.append(f"more than {MAX_IDENTIFIERS} identifiers")
    return tuple(found.values())[:MAX_IDENTIFIERS], problems


def crm_ids_of(raw: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The CRM record ids worth keeping (known CRM names, bounded ids) and what was dropped."""
    kept: dict[str, str] = {}
    problems: list[str] = []
    for crm, record_id in sorted(raw.items()):
        if crm not in CRM_NAMES:
            problems.append(f"crm_ids: unknown CRM {crm[:40]!r} dropped")
        elif not _CRM_ID.match(record_id):
            problems.append(f"crm_ids.{crm}: not a CRM record id (1-200 printable characters)")
        else:
            kept[crm] = record_id
    return kept, problems


def profile_of(
    record: ProfileUpserted, settings: StreamSettings, schema: TenantSchema
) -> tuple[Profile, list[str]]:
    """The directory's Profile for a record, and what was dropped from it (and why)."""
    check_profile_id(record.profile_id)
    identifiers, problems = identifiers_of(record.tenant_id, record.phones, record.emails, settings)
    attributes, attr_problems = validate_attributes(
        schema,
        record.attributes,
        phone_normalizer(settings.region_for(record.tenant_id)),
        email_value,
    )
    crm_ids, crm_problems = crm_ids_of(record.crm_ids)
    profile = Profile(
        tenant_id=record.tenant_id,
        profile_id=record.profile_id,
        stamp=(to_ms(record.occurred_at), record.event_id),
        display_name=(record.display_name or "").strip() or None,
        identifiers=identifiers,
        attributes=attributes,
        source=record.source,
        deleted=record.deleted,
        crm_ids=crm_ids,
    )
    return profile, problems + attr_problems + crm_problems


async def handle_profile_upserted(record: ProfileUpserted, deps: Deps) -> list[Outgoing]:
    """Upsert into the directory; identifiers and attributes that do not validate are
    dropped from the profile and logged by name (never by value)."""
    directory = deps.directory
    if not directory.local_crm:  # no local CRM: profiles are not kept
        return []
    schema = directory.profile_config.for_tenant(record.tenant_id)
    profile, problems = profile_of(record, deps.settings, schema)
    if problems:
        log.warning("profile_fields_dropped", profile_id=record.profile_id, problems=problems)
    result = await directory.profiles.upsert(profile)
    for change in result.changes:
        log.info(
            "identifier_owner_changed",
            token=change.token,
            previous=change.previous,
            current=change.current,
            event_id=change.event_id,
        )
    log.info("profile_upserted", profile_id=record.profile_id, status=result.status)
    return []
