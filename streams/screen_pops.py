"""Screen-pop use case: match the caller, render the panel, pre-warm it on IVR entry, emit."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import structlog

from core.layouts import render_fields
from core.links import SYSTEM, LinkAction, current_link
from core.matching import SEARCHABLE, Hint, Link, MatchInput, decide, suppressed_match
from core.policies import PopDecision, is_prewarm, screen_pop_for
from core.pop_view import (
    Panel,
    dumps,
    full_view,
    panel_from_json,
    panel_to_json,
    profile_section,
    suppressed_view,
)
from core.ports import Party
from core.timeline import InteractionEntry, from_ms, to_ms
from core.view import describe
from projections.profile_timeline import profile_timeline
from schemas.records import (
    InteractionEvent,
    InteractionOffered,
    MatchCandidate,
    PartyInteraction,
    ScreenPopRequested,
)
from schemas.topics import SCREENPOPS
from streams.directory import DirectoryDeps
from streams.handlers import Deps, Outgoing, party_of
from streams.linking import apply_link

_NS = uuid.UUID("0d8f3c52-7a0e-4d5b-9b1e-52b1c9e0aa77")
POP_TRIGGERS = frozenset({"offered", "accepted", "transferred"})
# (interaction id, routing hint) -> (panel, pre-warmed?, rendered timeline) of one batch.
PanelMemo = dict[tuple[str, str | None], tuple[Panel, bool, list[dict[str, Any]]]]
log = structlog.get_logger("c360.screen_pops")


async def _candidates(d: DirectoryDeps, tenant: str, ids: list[str]) -> tuple[MatchCandidate, ...]:
    found = await d.profiles.get_many(tenant, ids)
    return tuple(
        MatchCandidate(pid, found[pid].display_name if pid in found else None) for pid in ids
    )


async def _match_input(
    d: DirectoryDeps, party: Party, entry: InteractionEntry, hint_text: str | None
) -> tuple[MatchInput, str | None]:
    """Gather link, hint and identifier search results; returns the input and the link."""
    tenant = party.tenant_id
    linked = current_link(await d.links.actions(tenant, entry.interaction_id))
    hint = Hint.parse(hint_text or (entry.offer.hint if entry.offer else None))
    link = None
    if not d.local_crm:
        return MatchInput(party.kind, False, hint=hint), None
    if linked is not None:
        [candidate] = await _candidates(d, tenant, [linked.profile_id])
        link = Link(candidate, linked.agent_id if linked.by != SYSTEM else None, linked.action)
    if hint is not None:
        named = [hint.record_id, f"{hint.crm}:{hint.record_id}"]
        found = await d.profiles.get_many(tenant, named)
        pid = next((i for i in named if i in found), None)
        if pid is not None:
            hint = Hint(
                hint.crm,
                hint.object_type,
                hint.record_id,
                MatchCandidate(pid, found[pid].display_name),
            )
    ids: list[str] = []
    if party.kind in SEARCHABLE and link is None and hint is None:
        ids = await d.profiles.lookup(tenant, party.token)
    candidates = await _candidates(d, tenant, ids[:10]) if ids else ()
    match = MatchInput(party.kind, True, candidates, len(ids), hint, link)
    return match, linked.profile_id if linked else None


async def build_panel(
    d: DirectoryDeps, party: Party, entry: InteractionEntry, now_ms: int, hint: str | None = None
) -> Panel:
    """Match, profile fields by layout, insights and related records for one interaction.

    `hint`: the trigger event's routing-plan record ("crm:object:id"), which the timeline
    entry does not keep when an earlier offer (IVR, queue) had none.
    """
    match_input, linked = await _match_input(d, party, entry, hint)
    match = decide(match_input)
    tenant = party.tenant_id
    section, tokens = None, [party.token]
    if match.profile_id:
        profile = await d.profiles.get(tenant, match.profile_id)
        if profile is not None:
            tokens = await d.profiles.tokens_of(tenant, profile.profile_id)
            layout = d.layouts.for_tenant(tenant)
            schema = d.profile_config.for_tenant(tenant)
            fields = render_fields(profile, layout, schema, frozenset(tokens))
            section = profile_section(profile, fields)
    insights = await d.insights(tenant, tokens, entry.channel, now_ms)
    related = await d.related(tenant, entry.interaction_id, match.profile_id)
    return Panel(match, section, insights, related, d.notes, linked, tuple(tokens))


async def _timeline(
    deps: Deps,
    d: DirectoryDeps,
    party: Party,
    entry: InteractionEntry,
    panel: Panel,
    now: int,
) -> list[dict[str, Any]]:
    limit = d.layouts.for_tenant(party.tenant_id).timeline_limit
    channels = [entry.channel]
    if panel.profile is not None:
        window = deps.settings.timeline_retention_days * 86_400_000
        pid = panel.profile["profile_id"]
        items = await profile_timeline(
            d.profiles, d.links, deps.timeline, party.tenant_id, pid, channels, now, limit, window
        )
    else:
        items = await deps.timeline.read(party.tenant_id, party.token, channels, now, limit)
    return [describe(item, now) for item in items]


async def _cached_panel(
    d: DirectoryDeps, party: Party, entry: InteractionEntry, hint: str | None
) -> Panel | None:
    """The pre-warmed panel, unless the interaction's link or routing hint changed since
    (a link to the profile the panel already shows, e.g. the offer pop's own, keeps it)."""
    raw = await d.pop_cache.get(party.tenant_id, entry.interaction_id)
    panel = panel_from_json(raw) if raw is not None else None
    linked = None
    if panel is not None:
        found = current_link(await d.links.actions(party.tenant_id, entry.interaction_id))
        linked = found.profile_id if found else None
    cached_hint = panel.match.hint if panel is not None else None
    if (
        panel is None
        or linked not in (panel.link, panel.match.profile_id)
        or (
            hint and (cached_hint is None or Hint.parse(hint) != replace(cached_hint, profile=None))
        )
    ):
        d.metrics.prewarm_miss()
        return None
    d.metrics.prewarm_hit()
    return panel


async def _panel(
    deps: Deps, party: Party, entry: InteractionEntry, trigger: str, hint: str | None, now: int
) -> tuple[Panel, bool]:
    """(panel, prewarmed): the cached panel for ringing/accepting legs, else a fresh one.
    Link actions re-render on purpose: the pre-warmed panel is for the ringing leg."""
    d = deps.directory
    if trigger in POP_TRIGGERS:
        cached = await _cached_panel(d, party, entry, hint)
        if cached is not None:
            return cached, True
    return await build_panel(d, party, entry, now, hint), False


async def render_pop(
    deps: Deps,
    party: Party,
    entry: InteractionEntry,
    decision: PopDecision,
    trigger_event_id: str,
    occurred_ms: int,
    hint: str | None = None,
    memo: PanelMemo | None = None,
) -> ScreenPopRequested:
    """Decide, render and (for a fresh identifier/hint match) link the pop for one agent.

    `memo`: panels already rendered in this batch, by interaction and hint. Two pops of one
    interaction in one batch (an offer and its accept, when a backlog is worked through)
    show the same entry, so the second reuses the first's panel and timeline."""
    d, now = deps.directory, deps.clock_ms()
    if decision.suppressed:
        match = suppressed_match(decision.reason or "suppressed")
        view = suppressed_view(entry, party, decision.trigger, decision.reason or "", match)
    else:
        key = (entry.interaction_id, hint)
        if memo is not None and key in memo:
            panel, prewarmed, timeline = memo[key]
        else:
            panel, prewarmed = await _panel(deps, party, entry, decision.trigger, hint, now)
            timeline = []
        match = panel.match
        if match.source in ("identifier", "hint") and match.profile_id:
            action = LinkAction(
                f"pop:{trigger_event_id}", occurred_ms, match.profile_id, SYSTEM, None, "screen_pop"
            )
            await apply_link(d, party.tenant_id, entry.interaction_id, party.token, action)
        if memo is None or key not in memo:
            timeline = await _timeline(deps, d, party, entry, panel, now)
            if memo is not None:
                memo[key] = (panel, prewarmed, timeline)
        view = full_view(
            entry, party, decision.trigger, panel, timeline, prewarmed=prewarmed, rendered_ms=now
        )
    pop = ScreenPopRequested(
        event_id=str(uuid.uuid5(_NS, f"pop:{trigger_event_id}:{decision.agent_id}")),
        tenant_id=party.tenant_id,
        occurred_at=from_ms(max(now, occurred_ms)),
        interaction_id=entry.interaction_id,
        agent_id=decision.agent_id,
        channel=entry.channel,
        party_token=party.token,
        trigger_event_id=trigger_event_id,
        match_status=match.status,
        match_count=match.count,
        candidates=match.candidates,
        matched_identifier_kind=match.identifier_kind,
        reason=match.reason,
        suppressed=decision.suppressed,
        suppression_reason=decision.reason,
        profile_id=match.profile_id,
        view_json=dumps(view),
        rang_at=from_ms(occurred_ms),  # the trigger's own time: desktops judge freshness by it
    )
    d.metrics.observe(deps.clock_ms() - occurred_ms, match.status, decision.reason)
    return pop


STALE = "stale"
STALE_AFTER_MS = 3_600_000  # a ring older than an hour is history, not a live call


def _stale(event: InteractionEvent, now_ms: int) -> bool:
    # Event age, not the stored entry's end: the projector shares that entry and may have
    # folded the end in before this agent sees the ring of a live call.
    return now_ms - to_ms(event.occurred_at) > STALE_AFTER_MS


ENDED = "ended"
# The desktop gateway's default freshness window (C360_GATEWAY_FRESH_SECONDS): an older ring
# is not presented as ringing.
HISTORY_AFTER_MS = 120_000


def _over(event: InteractionEvent, entry: InteractionEntry, now_ms: int) -> bool:
    """The ring is past the freshness window and its call, or the agent's leg, has ended."""
    if now_ms - to_ms(event.occurred_at) <= HISTORY_AFTER_MS:
        return False
    if entry.ending is not None:
        return True
    leg_id = getattr(event, "leg_id", None)
    return leg_id is not None and any(
        leg.leg_id == leg_id and leg.ended is not None for leg in entry.legs
    )


def _hint_of(event: InteractionEvent) -> str | None:
    hint = event.crm_record_hint if isinstance(event, InteractionOffered) else None
    return f"{hint.crm}:{hint.object_type}:{hint.record_id}" if hint else None


def pop_out(pop: ScreenPopRequested) -> Outgoing:
    """The pop on its topic, keyed by tenant + agent."""
    return Outgoing(SCREENPOPS, f"{pop.tenant_id}:{pop.agent_id}".encode(), pop)


async def pop_for_entry(
    record: PartyInteraction, entry: InteractionEntry, deps: Deps, memo: PanelMemo | None = None
) -> list[Outgoing]:
    """The pop (or pre-warm) of one event, given the interaction's merged entry (the
    pipeline folds a whole batch first, then decides every event on the result)."""
    party, event = party_of(record), record.event
    now = deps.clock_ms()
    d = deps.directory
    if is_prewarm(event):
        if d.local_crm:  # without a directory there is no panel worth pre-warming
            panel = await build_panel(d, party, entry, now, _hint_of(event))
            await d.pop_cache.put(
                record.tenant_id, entry.interaction_id, panel_to_json(panel), d.prewarm_ttl_seconds
            )
            d.metrics.prewarm_stored()
        return []
    rules = d.rules_for(record.tenant_id)
    decision = screen_pop_for(event, party, entry, rules)
    if decision is None:
        return []
    if not decision.suppressed and _stale(event, now):
        # A replay or late delivery of a ring from long ago (history, not a live call)
        # must not take an agent's screen; the decision is still recorded, with its reason.
        decision = replace(decision, suppressed=True, reason=STALE)
    elif not decision.suppressed and _over(event, entry, now):
        # Catching up on a backlog: the call has ended already and the ring is older than the
        # desktop's freshness window, so the gateway could only show it as history. It is
        # recorded, with its reason, without rendering a panel nobody will see ringing.
        decision = replace(decision, suppressed=True, reason=ENDED)
    hint = _hint_of(event)
    pop = await render_pop(
        deps, party, entry, decision, event.event_id, to_ms(event.occurred_at), hint, memo
    )
    # Debug: one line per pop is a measurable share of the worker's time at load; the pop
    # metrics (the worker's /metrics) count every decision.
    log.debug(
        "screen_pop",
        agent_id=pop.agent_id,
        status=pop.match_status,
        suppressed=pop.suppressed,
        reason=pop.suppression_reason,
    )
    return [pop_out(pop)]
