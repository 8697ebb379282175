"""Activity use cases: automation rules at wrap-up, and manual activities from the desktop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from core.activity_log import ActivityLog, CrmChoice, slot_of
from core.activity_target import (
    CHOICE_AGENT,
    CHOICE_RULE,
    Caller,
    LinkedProfile,
    above,
    fill,
    linked_profile,
    moved,
    over,
    plan_hint,
    retarget,
)
from core.crm.ports import CRM_NAMES
from core.links import AGENT, LinkAction, current_link
from core.ports import InteractionParties, Party, TimelineStore
from core.related import (
    RelatedRecordsStore,
    closed_ms_of,
    describe,
    fact_from_action,
    facts_from_result,
    fold,
)
from core.rules import RuleSet, activities_for, kind_of_key, manual_key
from core.timeline import InteractionEntry, from_ms, to_ms
from core.view import direction_of, duration_of, title_of
from schemas.records import (
    ActivityRequested,
    ActivityResult,
    DesktopActionTaken,
    PartyInteraction,
)
from schemas.topics import ACTIVITIES_REQUESTED
from streams.handlers import Deps, Outgoing, party_of

log = structlog.get_logger("c360.activities")
MANUAL_KINDS = {"add_note": "note", "add_task": "task", "add_call": "call", "add_event": "event"}
_NS = uuid.UUID("5a1d7e39-0c1b-4d8e-a7b4-2f7e6c3d9a10")
_SUBJECT_MAX = 120


def _out(activity: ActivityRequested) -> Outgoing:
    # Keyed by idempotency key: every revision of one activity lands on one partition, in
    # order, so the sink sees the last wrap-up after the first.
    return Outgoing(ACTIVITIES_REQUESTED, activity.idempotency_key.encode(), activity)


def caller_of(party: Party | None) -> Caller:
    """The caller's own identifiers (what the CRM search uses when nothing is linked)."""
    if party is None:
        return Caller()
    return Caller(phone=party.value if party.kind == "phone" else None,
                  email=party.value if party.kind == "email" else None)


async def linked_now(
    deps: Deps, tenant_id: str, interaction_id: str
) -> tuple[LinkAction | None, LinkedProfile | None]:
    """The interaction's current link and the linked profile (None, None: not linked, or
    no profile directory in this deployment)."""
    link = current_link(await _actions(deps, tenant_id, interaction_id))
    return link, await _profile_of(deps, tenant_id, link)


async def targeted(
    deps: Deps, tenant_id: str, interaction_id: str, caller: Caller,
    built: Sequence[ActivityRequested],
) -> list[ActivityRequested]:
    """`built` filled by the target rule (core/activity_target.py) for the interaction's
    current link and CRM choice, and kept in the activity log so a later relink or CRM
    choice re-targets them.

    The link is read again after the log write: a relink recorded in between either sees
    the logged activities (and re-targets them itself) or is seen here."""
    if not built:
        return []
    state = await link_state(deps, tenant_id, interaction_id)
    link, book = state.link, state.book
    held = {slot_of(a): a for a in book.activities}
    filled = [fill(a, caller=caller, linked=state.linked, chosen_crm=state.chosen)
              for a in built]
    filled = [over(a, held.get(slot_of(a))) for a in filled]
    news = [a for a in filled if held.get(slot_of(a)) != a]  # a re-emit writes nothing
    if news:
        await deps.activity_log.put(tenant_id, interaction_id, news)
    if not deps.directory.local_crm:
        return filled
    again, linked = await linked_now(deps, tenant_id, interaction_id)
    if again == link or again is None:
        return filled
    moved = [retarget(a, caller=caller, linked=linked, chosen_crm=_chosen_of(a),
                      revision=again.at_ms) for a in filled]
    later = [a for a in moved if a is not None]
    await deps.activity_log.put(tenant_id, interaction_id, later)
    return filled + later


def _chosen_of(activity: ActivityRequested) -> str | None:
    """The agent's CRM an activity was written to (None: the routing default or a rule's)."""
    return activity.crm if activity.crm_choice == CHOICE_AGENT else None


async def activities_for_entry(
    record: PartyInteraction, entry: InteractionEntry, deps: Deps, rules: RuleSet | None = None
) -> list[Outgoing]:
    """The activity requests the tenant's rules ask for on the interaction's merged entry
    (`rules` None = the current tenant rules: the rules file, else the built-in call rule),
    targeted at the record the interaction is linked to now. Duplicates re-emit the same
    revision, which the sink ignores. Only interactions with activities read their link.

    Automatic activities are not logged: a relink or CRM choice recomputes them from the
    entry (`recomputed`), which the fold keeps anyway. So the hot path reads the link and
    the CRM choice and writes nothing more. The writer folds the entry before it reads the
    link, and a relink writes the link before it reads the entry: one of the two always sees
    the other."""
    ruleset = rules if rules is not None else deps.rules.current()
    party = party_of(record)
    built = activities_for(entry, party, ruleset)
    if not built:
        return []
    state = await link_state(deps, record.tenant_id, entry.interaction_id)
    caller = caller_of(party)
    return [_out(above(fill(a, caller=caller, linked=state.linked, chosen_crm=state.chosen),
                       state.floor)) for a in built]


@dataclass(frozen=True, slots=True)
class LinkState:
    """What the target rule needs of an interaction: its link (and the linked profile), the
    agent's CRM choice, the time of the latest agent decision (the floor of the revisions
    written after it) and the activity log."""

    link: LinkAction | None
    linked: LinkedProfile | None
    chosen: str | None
    floor: int | None
    book: ActivityLog
    actions: tuple[LinkAction, ...]


async def link_state(deps: Deps, tenant_id: str, interaction_id: str) -> LinkState:
    """The interaction's link, CRM choice and decision floor (two reads, three when linked)."""
    book, actions = await asyncio.gather(
        deps.activity_log.read(tenant_id, interaction_id),
        _actions(deps, tenant_id, interaction_id),
    )
    link = current_link(actions)
    linked = await _profile_of(deps, tenant_id, link)
    times = [a.at_ms for a in actions if a.by == AGENT]
    if book.choice is not None:
        times.append(book.choice.at_ms)
    chosen = book.choice.crm if book.choice else None
    return LinkState(link, linked, chosen, max(times, default=None), book, tuple(actions))


async def _actions(deps: Deps, tenant_id: str, interaction_id: str) -> list[LinkAction]:
    if not deps.directory.local_crm:
        return []
    return list(await deps.directory.links.actions(tenant_id, interaction_id))


async def _profile_of(
    deps: Deps, tenant_id: str, link: LinkAction | None
) -> LinkedProfile | None:
    if link is None:
        return None
    return linked_profile(link, await deps.directory.profiles.get(tenant_id, link.profile_id))


async def recomputed(
    deps: Deps, party: Party | None, entry: InteractionEntry | None, at_ms: int,
    state: LinkState, crms: Sequence[str | None],
) -> list[Outgoing]:
    """After a relink or CRM choice at `at_ms`: the interaction's automatic activities
    recomputed from its entry for the current link, in each of `crms` (None = the routing
    default), at a higher revision (at least `at_ms`)."""
    if party is None or entry is None:
        return []
    caller = caller_of(party)
    built = activities_for(entry, party, deps.rules.current())
    out: dict[str, ActivityRequested] = {}
    for crm in crms:
        for a in built:
            one = moved(fill(a, caller=caller, linked=state.linked, chosen_crm=crm), at_ms)
            out.setdefault(slot_of(one), one)  # a rule that names its CRM fills it once
    if out:
        log.info("activities_retargeted", interaction_id=entry.interaction_id, count=len(out))
    return [_out(a) for a in out.values()]


async def retarget_logged(
    deps: Deps, tenant_id: str, interaction_id: str, party: Party | None, at_ms: int,
    state: LinkState,
) -> list[Outgoing]:
    """After a relink/open_profile: every logged (manual) activity of the interaction
    re-emitted for the current link in `state` (a higher revision, at least `at_ms`), if its
    target changed."""
    caller = caller_of(party)
    moved = [retarget(a, caller=caller, linked=state.linked, chosen_crm=_chosen_of(a),
                      revision=at_ms) for a in state.book.activities]
    out = [a for a in moved if a is not None]
    await deps.activity_log.put(tenant_id, interaction_id, out)
    if out:
        log.info("activities_retargeted", interaction_id=interaction_id, count=len(out))
    return [_out(a) for a in out]


async def handle_crm_choice(record: DesktopActionTaken, deps: Deps) -> list[Outgoing]:
    """choose_crm: activities written after it go to the chosen CRM; the ones already
    written for the interaction are written there too (new writes in that CRM): the
    automatic ones recomputed from the entry, the manual ones from the log. A rule that
    names its CRM keeps it; choosing the CRM already chosen writes nothing. Other desktop
    actions: nothing."""
    if record.action != "choose_crm" or record.crm not in CRM_NAMES:
        return []
    tenant_id, interaction_id = record.tenant_id, record.interaction_id
    at_ms = to_ms(record.occurred_at)
    before = (await deps.activity_log.read(tenant_id, interaction_id)).choice
    if before is not None and before.crm == record.crm:
        return []  # a redelivered or repeated choice
    await deps.activity_log.choose(tenant_id, interaction_id,
                                   CrmChoice(record.crm, at_ms, record.event_id))
    state = await link_state(deps, tenant_id, interaction_id)
    chosen = state.chosen or record.crm
    party = await deps.parties.lookup(tenant_id, interaction_id)
    entry = (await deps.timeline.get(tenant_id, party.token, interaction_id)
             if party is not None else None)
    automatic = await recomputed(deps, party, entry, at_ms, state, [chosen])
    there = {a.idempotency_key for a in state.book.activities if a.crm == chosen}
    todo: dict[str, ActivityRequested] = {}
    for a in state.book.activities:
        if a.crm_choice != CHOICE_RULE and a.idempotency_key not in there:
            held = todo.get(a.idempotency_key)
            if held is None or held.revision < a.revision:
                todo[a.idempotency_key] = a
    caller = caller_of(party)
    copies = [retarget(a, caller=caller, linked=state.linked, chosen_crm=chosen,
                       revision=at_ms) for a in todo.values()]
    out = [a for a in copies if a is not None]
    await deps.activity_log.put(tenant_id, interaction_id, out)
    return automatic + [_out(a) for a in out]


def manual_activity_for(
    record: DesktopActionTaken, party: Party | None, entry: InteractionEntry | None
) -> ActivityRequested | None:
    """The activity an agent added by hand (note, task, call, event), or None for other
    desktop actions. Each desktop action is its own activity (keyed by its event id)."""
    kind = MANUAL_KINDS.get(record.action)
    if kind is None:
        return None
    text = (record.text or "").strip()
    first = text.split("\n", 1)[0].strip()
    fallback = title_of(entry) if kind == "call" and entry is not None else kind.capitalize()
    subject = (first[: _SUBJECT_MAX - 1] + "…") if len(first) > _SUBJECT_MAX else first
    key = manual_key(record.tenant_id, record.interaction_id, None, kind, record.event_id)
    with_call = kind == "call" and entry is not None
    return ActivityRequested(
        event_id=str(uuid.uuid5(_NS, key)),
        tenant_id=record.tenant_id,
        occurred_at=record.occurred_at,
        interaction_id=record.interaction_id,
        idempotency_key=key,
        kind=kind,
        revision=to_ms(record.occurred_at),
        subject=subject or fallback,
        body=text,
        agent_id=record.agent_id,
        channel=entry.channel if entry else None,
        direction=direction_of(entry) if entry else None,
        started_at=from_ms(entry.started_ms) if with_call and entry else None,
        duration_seconds=duration_of(entry) if with_call and entry else None,
        party_token=party.token if party else None,
        customer_phone=party.value if party and party.kind == "phone" else None,
        customer_email=party.value if party and party.kind == "email" else None,
        profile_id=record.profile_id,
        crm_record_hint=plan_hint(entry.hinted.hint) if entry and entry.hinted else None,
        recording_url=entry.recording.url if with_call and entry and entry.recording else None,
    )


async def handle_desktop_activity(record: DesktopActionTaken, deps: Deps) -> list[Outgoing]:
    """A manual activity from the desktop -> ActivityRequested (other actions: nothing).

    The customer's identifiers come from the interaction's party, so the CRM can find the
    contact; an interaction c360 has not seen still gets its activity, without a contact.
    """
    if record.action not in MANUAL_KINDS:
        return []
    party = await deps.parties.lookup(record.tenant_id, record.interaction_id)
    entry = None
    if party is not None:
        entry = await deps.timeline.get(record.tenant_id, party.token, record.interaction_id)
    activity = manual_activity_for(record, party, entry)
    if activity is None:
        return []
    filled = await targeted(deps, record.tenant_id, record.interaction_id, caller_of(party),
                            [activity])
    return [_out(a) for a in filled]


async def handle_activity_result(
    record: ActivityResult, store: RelatedRecordsStore
) -> list[Outgoing]:
    """A CRM write's activity and contact become related records of the interaction."""
    facts = facts_from_result(record, kind_of_key(record.idempotency_key))
    await store.add(record.tenant_id, record.interaction_id, facts)
    return []


async def handle_related_action(
    record: DesktopActionTaken, store: RelatedRecordsStore
) -> list[Outgoing]:
    """The agent links or unlinks a record (the latest decision wins); other actions: none."""
    fact = fact_from_action(record)
    if fact is not None:
        await store.add(record.tenant_id, record.interaction_id, [fact])
    return []


class _Reads(Protocol):
    """What the related-records read needs of the deps (streams.handlers.Deps has both)."""

    @property
    def parties(self) -> InteractionParties: ...

    @property
    def timeline(self) -> TimelineStore: ...


async def related_records(
    deps: _Reads, store: RelatedRecordsStore, tenant_id: str, interaction_id: str
) -> list[dict[str, Any]]:
    """The interaction's related records with their status (new while it is open,
    suggested afterwards, linked/unlinked once the agent decided)."""
    facts = await store.facts(tenant_id, interaction_id)
    if not facts:
        return []
    party = await deps.parties.lookup(tenant_id, interaction_id)
    entry = await deps.timeline.get(tenant_id, party.token, interaction_id) if party else None
    return describe(fold(facts), closed_ms_of(entry))


@dataclass(frozen=True, slots=True)
class _Ports:
    parties: InteractionParties
    timeline: TimelineStore


def related_hook(
    parties: InteractionParties, timeline: TimelineStore, store: RelatedRecordsStore
) -> Callable[[str, str, str | None], Awaitable[list[dict[str, Any]] | None]]:
    """`DirectoryDeps.related` for screen pops: the interaction's related records."""
    ports = _Ports(parties, timeline)

    async def related(
        tenant_id: str, interaction_id: str, _profile_id: str | None
    ) -> list[dict[str, Any]] | None:
        return await related_records(ports, store, tenant_id, interaction_id)

    return related
