"""Vendor-neutral CRM values the adapters take and return (frozen, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CrmContact:
    """A contact as the CRM holds it; `id` is the vendor's record id."""

    id: str
    email: str | None = None
    phones: tuple[str, ...] = ()  # as stored by the CRM (any format)
    first_name: str | None = None
    last_name: str | None = None
    record_url: str | None = None


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """A contact to create or update; matched on email first, then phone (E.164)."""

    phone: str | None = None  # E.164
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityWrite:
    """The result of upserting one activity: created=False means an existing one was updated."""

    crm_activity_id: str
    created: bool
    record_url: str | None = None
    # Said when the write did more than upsert: e.g. "correction written" where the CRM
    # cannot move an activity to another contact.
    detail: str | None = None
