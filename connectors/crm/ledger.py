"""The sink's ledger port: which CRM activity each idempotency key became (+ in-memory twin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What the sink last wrote for one (idempotency key, CRM)."""

    crm_activity_id: str
    revision: int
    fingerprint: str  # of the request written: an equal revision with new content is written
    status: str  # created | updated (the result to re-emit for a duplicate)
    crm_contact_id: str | None = None
    record_url: str | None = None
    # How the contact was chosen ("id:<contact>" / "search:<hash of the identifiers>"): a
    # request with the same target reuses crm_contact_id without a search.
    target: str | None = None
    detail: str | None = None  # what the write said (re-associated / correction written)


class ActivityLedger(Protocol):
    """Idempotency key + CRM -> the activity written; never goes back to a lower revision."""

    def get(self, key: str, crm: str) -> LedgerEntry | None:
        """The entry, or None when this worker never wrote the key to this CRM."""
        ...

    def put(self, key: str, crm: str, entry: LedgerEntry) -> None:
        """Record a write; ignored when the stored revision is higher (a stale replay)."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


@dataclass(slots=True)
class InMemoryActivityLedger:
    """ActivityLedger twin (also the `C360_CRM_LEDGER=memory` choice: no local state)."""

    entries: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)

    def get(self, key: str, crm: str) -> LedgerEntry | None:
        return self.entries.get((key, crm))

    def put(self, key: str, crm: str, entry: LedgerEntry) -> None:
        stored = self.entries.get((key, crm))
        if stored is None or stored.revision <= entry.revision:
            self.entries[key, crm] = entry

    def close(self) -> None:
        return None
