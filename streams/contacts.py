"""Contacts use case: a ProfileUpserted (CSV import, CRM sync, API) into the profile directory."""

from __future__ import annotations

import structlog

from core.profile_fields import (
    InvalidProfile,
    check_profile_id,
    crm_ids_of,
    email_value,
    identifiers_from,
    phone_normalizer,
)
from core.profile_schema import TenantSchema, validate_attributes
from core.profile_search import index_terms
from core.profiles import Profile, ProfileIdentifier
from core.timeline import to_ms
from schemas.records import ProfileUpserted
from streams.handlers import Deps, Outgoing
from streams.settings import StreamSettings

log = structlog.get_logger("c360.contacts")
__all__ = [
    "InvalidProfile",
    "check_profile_id",
    "crm_ids_of",
    "email_value",
    "handle_profile_upserted",
    "identifiers_of",
    "phone_normalizer",
    "profile_of",
]


def identifiers_of(
    tenant_id: str, phones: tuple[str, ...], emails: tuple[str, ...], settings: StreamSettings
) -> tuple[tuple[ProfileIdentifier, ...], list[str]]:
    """core.profile_fields.identifiers_from with the settings' pepper and tenant region."""
    return identifiers_from(
        tenant_id, phones, emails, settings.pii_pepper, settings.region_for(tenant_id)
    )


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
    if result.status != "stale":  # the index refuses an older stamp too
        terms = index_terms(profile, deps.settings.pii_pepper)
        await directory.search.replace(profile.tenant_id, profile.profile_id, profile.stamp, terms)
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
