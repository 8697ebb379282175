"""Pure screen-pop policy: whether an event pops a screen, for which agent, or why not."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.ports import Party
from core.timeline import InteractionEntry
from schemas.records import (
    InteractionAccepted,
    InteractionEvent,
    InteractionOffered,
    InteractionTransferred,
)

# Reasons, in the order they are checked (the first that applies is recorded).
AGENT_TO_AGENT = "agent_to_agent"
DIRECTORY = "directory"
UNROUTED = "unrouted"
CHANNEL_OFF = "channel_off"
QUEUE_OFF = "queue_off"
PREWARM_STAGES = frozenset({"ivr", "queued"})


@dataclass(frozen=True, slots=True)
class PopDecision:
    """A screen pop for `agent_id`, or a suppressed one with the reason."""

    agent_id: str
    suppressed: bool
    reason: str | None = None
    trigger: str = "offered"  # offered | accepted | transferred


@dataclass(frozen=True, slots=True)
class SuppressionRules:
    """A tenant's suppression rules; the defaults are the product's behaviour.

    A *directory call* is a call to or from a number of the tenant's directory (branch
    offices, suppliers, the staff directory service: `directory_tokens`, keyed hashes of
    the configured numbers), or one routed through a directory queue or IVR node. None of
    these is a customer. (Rules read the merged interaction entry, not the trigger event,
    so the offer and the accept of one interaction always get the same verdict.)
    """

    agent_to_agent: bool = True
    unrouted: bool = True
    directory: bool = True
    directory_tokens: frozenset[str] = frozenset()
    directory_queues: frozenset[str] = frozenset()
    directory_ivr_nodes: frozenset[str] = frozenset()
    channels_off: frozenset[str] = frozenset()
    queues_off: frozenset[str] = frozenset()


def rules_from_dict(
    doc: Mapping[str, object], token_of: Callable[[str], str | None]
) -> SuppressionRules:
    """Rules from a config object; `token_of` maps a configured number to its party token.

    Keys: agent_to_agent, unrouted, directory (booleans), directory_numbers,
    directory_queues, directory_ivr_nodes, channels_off, queues_off (lists of strings).
    Raises ValueError naming the bad key.
    """

    def strings(key: str) -> frozenset[str]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"suppression.{key} must be a list of strings")
        return frozenset(value)

    def flag(key: str) -> bool:
        value = doc.get(key, True)
        if not isinstance(value, bool):
            raise ValueError(f"suppression.{key} must be true or false")
        return value

    numbers = strings("directory_numbers")
    tokens = frozenset(t for t in (token_of(n) for n in numbers) if t)
    if len(tokens) != len(numbers):
        raise ValueError("suppression.directory_numbers has a number that does not normalize")
    return SuppressionRules(
        agent_to_agent=flag("agent_to_agent"),
        unrouted=flag("unrouted"),
        directory=flag("directory"),
        directory_tokens=tokens,
        directory_queues=strings("directory_queues"),
        directory_ivr_nodes=strings("directory_ivr_nodes"),
        channels_off=strings("channels_off"),
        queues_off=strings("queues_off"),
    )


def pop_target(event: InteractionEvent) -> tuple[str, str] | None:
    """(agent, trigger) an event rings or connects, or None when it is not a pop trigger."""
    if isinstance(event, InteractionOffered) and event.stage == "offered" and event.agent_id:
        return event.agent_id, "offered"
    if isinstance(event, InteractionAccepted):
        return event.agent_id, "accepted"
    if isinstance(event, InteractionTransferred) and event.to_agent_id:
        return event.to_agent_id, "transferred"
    return None


def is_prewarm(event: InteractionEvent) -> bool:
    """IVR entry or queueing: compute the pop ahead, so the agent leg's pop is a cache hit."""
    return isinstance(event, InteractionOffered) and event.stage in PREWARM_STAGES


def _queues(entry: InteractionEntry) -> set[str]:
    found = {leg.queue for leg in entry.legs if leg.queue}
    if entry.offer is not None and entry.offer.queue:
        found.add(entry.offer.queue)
    return found


def suppression_for(
    event: InteractionEvent, party: Party, entry: InteractionEntry, rules: SuppressionRules
) -> str | None:
    """The reason this interaction must not pop (first rule that applies), or None."""
    direction = entry.offer.direction if entry.offer else getattr(event, "direction", None)
    if rules.agent_to_agent and (party.internal or direction == "internal"):
        return AGENT_TO_AGENT
    queues = _queues(entry)
    ivr = entry.offer.ivr_path if entry.offer else ()
    if rules.directory and (
        party.token in rules.directory_tokens
        or queues & rules.directory_queues
        or set(ivr) & rules.directory_ivr_nodes
    ):
        return DIRECTORY
    if rules.unrouted and not queues and not ivr and direction != "outbound":
        return UNROUTED
    if entry.channel in rules.channels_off:
        return CHANNEL_OFF
    if queues & rules.queues_off:
        return QUEUE_OFF
    return None


def screen_pop_for(
    event: InteractionEvent,
    party: Party,
    entry: InteractionEntry,
    rules: SuppressionRules | None = None,
) -> PopDecision | None:
    """Decide the pop for one event; None when the event triggers no pop at all.

    Suppressed decisions are still returned (and recorded) with their reason.
    """
    target = pop_target(event)
    if target is None:
        return None
    agent_id, trigger = target
    reason = suppression_for(event, party, entry, rules or DEFAULT_RULES)
    return PopDecision(agent_id, suppressed=reason is not None, reason=reason, trigger=trigger)


DEFAULT_RULES = SuppressionRules()
