"""Related CRM records of an interaction: facts (found / linked / unlinked) folded on read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.timeline import InteractionEntry, to_ms
from schemas.records import ActivityResult, DesktopActionTaken

# Like interaction links, the state is a function of a *set* of facts, each stored under
# its own id: writes are idempotent adds (no read-modify-write), duplicates and any arrival
# order give the same records. A record is "new" when it became related while the
# interaction was open (up to the agent's wrap-up), "suggested" when it came afterwards;
# an agent's link/unlink (the latest one wins) overrides both.
NEW, SUGGESTED, LINKED, UNLINKED = "new", "suggested", "linked", "unlinked"
FOUND, LINK, UNLINK = "found", "link", "unlink"
WRITTEN = frozenset({"created", "updated"})


@dataclass(frozen=True, slots=True)
class RelatedFact:
    """One thing learnt about a record's relation to the interaction."""

    fact_id: str
    at_ms: int
    kind: str  # found | link | unlink
    crm: str
    object_type: str
    record_id: str
    url: str | None = None
    source: str = "activity"  # activity | contact | agent
    agent_id: str | None = None

    @property
    def record_key(self) -> str:
        """`<crm>:<object type>:<id>`, the form the desktop sends back to link/unlink."""
        return f"{self.crm}:{self.object_type}:{self.record_id}"

    def to_json(self) -> str:
        """Stored form (the fact id is the hash field)."""
        return json.dumps([self.at_ms, self.kind, self.crm, self.object_type, self.record_id,
                           self.url, self.source, self.agent_id], separators=(",", ":"))

    @classmethod
    def from_json(cls, fact_id: str, raw: str | bytes) -> RelatedFact:
        """Parse the stored form."""
        at_ms, kind, crm, object_type, record_id, url, source, agent_id = json.loads(raw)
        return cls(fact_id, int(at_ms), kind, crm, object_type, record_id, url, source,
                   agent_id)


@dataclass(frozen=True, slots=True)
class RelatedRecord:
    """A record's folded state: first seen, latest URL, the agent's last decision."""

    crm: str
    object_type: str
    record_id: str
    seen_ms: int
    source: str
    url: str | None = None
    linked: bool | None = None  # None = the agent never decided
    decided_by: str | None = None

    @property
    def record_key(self) -> str:
        """`<crm>:<object type>:<id>`."""
        return f"{self.crm}:{self.object_type}:{self.record_id}"


def facts_from_result(result: ActivityResult, kind: str | None) -> list[RelatedFact]:
    """The records a CRM write made related: the activity and the contact it is on.
    Rejected/failed writes relate nothing."""
    if result.status not in WRITTEN:
        return []
    at = to_ms(result.occurred_at)
    facts = []
    if result.crm_activity_id:
        facts.append(RelatedFact(f"{result.event_id}:a", at, FOUND, result.crm,
                                 kind or "activity", result.crm_activity_id, result.record_url))
    if result.crm_contact_id:
        facts.append(RelatedFact(f"{result.event_id}:c", at, FOUND, result.crm, "contact",
                                 result.crm_contact_id, source="contact"))
    return facts


def parse_record_key(key: str) -> tuple[str, str, str]:
    """`crm:object:id` -> parts; a bare id is an untyped record of an unnamed CRM."""
    parts = key.split(":", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "record", key)


def fact_from_action(action: DesktopActionTaken) -> RelatedFact | None:
    """A desktop link_record / unlink_record as a fact; other actions: None."""
    kind = {"link_record": LINK, "unlink_record": UNLINK}.get(action.action)
    if kind is None or not action.record_id:
        return None
    crm, object_type, record_id = parse_record_key(action.record_id)
    return RelatedFact(action.event_id, to_ms(action.occurred_at), kind, crm, object_type,
                       record_id, source="agent", agent_id=action.agent_id)


def fold(facts: Iterable[RelatedFact]) -> list[RelatedRecord]:
    """The records the facts describe, ordered by first seen then key."""
    by_key: dict[str, list[RelatedFact]] = {}
    for fact in facts:
        by_key.setdefault(fact.record_key, []).append(fact)
    records = []
    for group in by_key.values():
        found = [f for f in group if f.kind == FOUND]
        decisions = [f for f in group if f.kind in (LINK, UNLINK)]
        latest = max(decisions, key=lambda f: (f.at_ms, f.fact_id), default=None)
        with_url = [f for f in found if f.url]
        first = min(group, key=lambda f: (f.at_ms, f.fact_id))
        records.append(RelatedRecord(
            crm=first.crm, object_type=first.object_type, record_id=first.record_id,
            seen_ms=min(f.at_ms for f in (found or group)),
            source=min(f.source for f in found) if found else "agent",
            url=max(with_url, key=lambda f: (f.at_ms, f.fact_id)).url if with_url else None,
            linked=None if latest is None else latest.kind == LINK,
            decided_by=latest.agent_id if latest else None,
        ))
    return sorted(records, key=lambda r: (r.seen_ms, r.record_key))


def closed_ms_of(entry: InteractionEntry | None) -> int | None:
    """When the interaction closed for the agent: the wrap-up, else the end; None = open
    (or unknown to c360)."""
    if entry is None:
        return None
    if entry.wrapup is not None:
        return entry.wrapup.stamp[0]
    return entry.ending.stamp[0] if entry.ending is not None else None


def status_of(record: RelatedRecord, closed_ms: int | None) -> str:
    """linked / unlinked when the agent decided; else new (during) or suggested (after)."""
    if record.linked is not None:
        return LINKED if record.linked else UNLINKED
    return NEW if closed_ms is None or record.seen_ms <= closed_ms else SUGGESTED


def describe(records: Sequence[RelatedRecord], closed_ms: int | None) -> list[dict[str, Any]]:
    """JSON-ready related records for the desktop."""
    return [
        {"record": r.record_key, "crm": r.crm, "object_type": r.object_type,
         "record_id": r.record_id, "url": r.url, "source": r.source,
         "status": status_of(r, closed_ms), "decided_by": r.decided_by}
        for r in records
    ]


class RelatedRecordsStore(Protocol):
    """Related-record facts per interaction (idempotent adds by fact id)."""

    async def add(self, tenant_id: str, interaction_id: str, facts: Sequence[RelatedFact]) -> None:
        """Store the facts (a fact id seen before is a no-op)."""
        ...

    async def facts(self, tenant_id: str, interaction_id: str) -> list[RelatedFact]:
        """Every fact of the interaction, ordered by id."""
        ...


@dataclass(slots=True)
class InMemoryRelatedRecords:
    """RelatedRecordsStore twin."""

    stored: dict[tuple[str, str], dict[str, RelatedFact]] = field(default_factory=dict)

    async def add(self, tenant_id: str, interaction_id: str, facts: Sequence[RelatedFact]) -> None:
        bucket = self.stored.setdefault((tenant_id, interaction_id), {})
        for fact in facts:
            bucket.setdefault(fact.fact_id, fact)

    async def facts(self, tenant_id: str, interaction_id: str) -> list[RelatedFact]:
        bucket = self.stored.get((tenant_id, interaction_id), {})
        return [bucket[k] for k in sorted(bucket)]
