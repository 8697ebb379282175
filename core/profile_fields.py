"""Pure validation of a profile's fields as agents, imports and CRMs send them: profile ids,
phones and emails (normalized + tokenized), and CRM record ids. Shared by the contacts
worker (streams.contacts), the CSV import and the desktop's create/edit routes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from core.crm.ports import CRM_NAMES
from core.identity import Identifier, normalize_email, normalize_phone, party_token
from core.profiles import ProfileIdentifier
from schemas.errors import C360Error

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


def identifiers_from(
    tenant_id: str,
    phones: tuple[str, ...],
    emails: tuple[str, ...],
    pepper: bytes,
    region: str,
) -> tuple[tuple[ProfileIdentifier, ...], list[str]]:
    """Normalized, tokenized, de-duplicated identifiers and the problems (no raw values)."""
    phone = phone_normalizer(region)
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
            token = party_token(pepper, tenant_id, Identifier(kind, value))
            found.setdefault(token, ProfileIdentifier(kind, value, token))
    if len(found) > MAX_IDENTIFIERS:
        problems.append(f"more than {MAX_IDENTIFIERS} identifiers")
    return tuple(found.values())[:MAX_IDENTIFIERS], problems


def crm_ids_of(raw: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
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
