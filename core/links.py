"""Pure interaction -> profile links: the profile opened last wins; relinking back reverts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

# An interaction's link is the maximum of a *set* of actions, so duplicates and late
# arrivals cannot change the answer. Agent actions (open_profile, relink) always beat the
# system link recorded from the first screen pop's match: a pop processed after the
# agent's relink (different topics, different agents) must not undo the agent's choice.
# Among agent actions, the latest (occurred_at ms, event id) wins.
AGENT = "agent"
SYSTEM = "system"
IN, OUT = "in", "out"


@dataclass(frozen=True, slots=True)
class LinkAction:
    """One decision that the interaction belongs to `profile_id`."""

    event_id: str
    at_ms: int
    profile_id: str
    by: str = AGENT  # agent | system
    agent_id: str | None = None
    action: str = "relink"  # open_profile | relink | screen_pop
    # A relink to a CRM search result: the record picked ("<crm>:contact:<id>") and its CRM.
    record_id: str | None = None
    crm: str | None = None

    def rank(self) -> tuple[int, int, str]:
        """Order of precedence: agent over system, then newest, then event id."""
        return (1 if self.by == AGENT else 0, self.at_ms, self.event_id)

    def to_json(self) -> str:
        """Stored form (the picked record only when there is one: older readers and
        older stored actions keep the five-item form)."""
        doc: list[object] = [self.at_ms, self.profile_id, self.by, self.agent_id, self.action]
        if self.record_id is not None or self.crm is not None:
            doc += [self.record_id, self.crm]
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, event_id: str, raw: str | bytes) -> LinkAction:
        """Parse the stored form (the event id is the hash field)."""
        doc = json.loads(raw)
        at_ms, profile_id, by, agent_id, action = doc[:5]
        record_id, crm = [*doc[5:7], None, None][:2]
        return cls(event_id, int(at_ms), profile_id, by, agent_id, action, record_id, crm)


def current_link(actions: Iterable[LinkAction]) -> LinkAction | None:
    """The action that decides the interaction's profile, or None when there is none."""
    return max(actions, key=LinkAction.rank, default=None)


def link_marks(
    actions: Iterable[LinkAction], matched: Iterable[str] = ()
) -> dict[str, str]:
    """Per profile: IN for the linked profile, OUT for every other profile involved.

    `matched` are the profiles the interaction's identifier resolves to: they show the
    interaction through their identifier timelines, so they need an OUT mark to hide it
    once it is linked elsewhere. Relinking back simply flips the marks again.
    """
    actions = list(actions)
    current = current_link(actions)
    if current is None:
        return {}
    involved = {a.profile_id for a in actions} | set(matched)
    return {pid: IN if pid == current.profile_id else OUT for pid in sorted(involved)}


@dataclass(frozen=True, slots=True)
class LinkMark:
    """How an interaction relates to a profile's timeline: shown (IN) or hidden (OUT)."""

    interaction_id: str
    state: str
    token: str  # the party token whose timeline holds the interaction's entry

    def to_json(self) -> str:
        """Stored form."""
        return json.dumps([self.state, self.token], separators=(",", ":"))

    @classmethod
    def from_json(cls, interaction_id: str, raw: str | bytes) -> LinkMark:
        """Parse the stored form."""
        state, token = json.loads(raw)
        return cls(interaction_id, state, token)
