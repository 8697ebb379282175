"""Per interaction: the activities emitted for it and the CRM the agent chose (port + twin).

The streams process re-targets what it already emitted when the agent relinks the
interaction or picks another CRM (core/activity_target.py). Each activity is kept per
(idempotency key, CRM) at its highest revision; a bounded number per interaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from schemas.records import ActivityRequested

MAX_PER_INTERACTION = 64  # activities + CRM choices kept per interaction (more are dropped)


@dataclass(frozen=True, slots=True)
class CrmChoice:
    """The agent picked `crm` for the interaction; the latest (at_ms, event id) wins."""

    crm: str
    at_ms: int
    event_id: str


@dataclass(frozen=True, slots=True)
class ActivityLog:
    """What the store holds of one interaction."""

    activities: tuple[ActivityRequested, ...] = ()
    choice: CrmChoice | None = None
    # Every CRM choice of the interaction, oldest first (which CRMs got copies, and when).
    choices: tuple[CrmChoice, ...] = ()


def slot_of(activity: ActivityRequested) -> str:
    """The activity's place in the log: one per idempotency key and CRM."""
    return f"{activity.idempotency_key}|{activity.crm or ''}"


def latest(choices: Sequence[CrmChoice]) -> CrmChoice | None:
    """The choice that counts (order-free: the maximum of the set)."""
    return max(choices, key=_order, default=None)


def in_order(choices: Sequence[CrmChoice]) -> tuple[CrmChoice, ...]:
    """The choices oldest first (order-free: sorted by (time, event id))."""
    return tuple(sorted(choices, key=_order))


def _order(choice: CrmChoice) -> tuple[int, str]:
    return (choice.at_ms, choice.event_id)


class InteractionActivities(Protocol):
    """Activities emitted per interaction and the agent's CRM choice (idempotent writes)."""

    async def put(self, tenant_id: str, interaction_id: str,
                  activities: Sequence[ActivityRequested]) -> None:
        """Keep each activity unless a higher revision of its slot is stored; a new slot
        beyond MAX_PER_INTERACTION is dropped."""
        ...

    async def choose(self, tenant_id: str, interaction_id: str, choice: CrmChoice) -> None:
        """Record a CRM choice (a redelivered one is a no-op)."""
        ...

    async def read(self, tenant_id: str, interaction_id: str) -> ActivityLog:
        """The interaction's activities (ordered by slot) and its latest CRM choice."""
        ...


@dataclass(slots=True)
class InMemoryInteractionActivities:
    """InteractionActivities twin."""

    max_items: int = MAX_PER_INTERACTION
    stored: dict[tuple[str, str], dict[str, ActivityRequested]] = field(default_factory=dict)
    choices: dict[tuple[str, str], dict[str, CrmChoice]] = field(default_factory=dict)

    def _room(self, key: tuple[str, str]) -> bool:
        return len(self.stored.get(key, {})) + len(self.choices.get(key, {})) < self.max_items

    async def put(self, tenant_id: str, interaction_id: str,
                  activities: Sequence[ActivityRequested]) -> None:
        key = (tenant_id, interaction_id)
        for activity in activities:
            bucket = self.stored.setdefault(key, {})
            slot = slot_of(activity)
            held = bucket.get(slot)
            if held is not None and held.revision > activity.revision:
                continue
            if held is None and not self._room(key):
                continue
            bucket[slot] = activity

    async def choose(self, tenant_id: str, interaction_id: str, choice: CrmChoice) -> None:
        key = (tenant_id, interaction_id)
        bucket = self.choices.setdefault(key, {})
        if choice.event_id in bucket or self._room(key):
            bucket[choice.event_id] = choice

    async def read(self, tenant_id: str, interaction_id: str) -> ActivityLog:
        key = (tenant_id, interaction_id)
        bucket = self.stored.get(key, {})
        choices = list(self.choices.get(key, {}).values())
        return ActivityLog(tuple(bucket[s] for s in sorted(bucket)), latest(choices),
                           in_order(choices))
