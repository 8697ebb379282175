"""Desktop link actions: the agent opens another profile or relinks; the pop follows it."""

from __future__ import annotations

from core.activity_target import crms_written, same_target
from core.links import AGENT, LinkAction, current_link
from core.policies import PopDecision
from core.timeline import to_ms
from core.triggers import fired_ms
from schemas.records import DesktopActionTaken
from streams.activities import link_state, recomputed, retarget_logged
from streams.handlers import Deps, Outgoing
from streams.linking import apply_link
from streams.screen_pops import pop_out, render_pop

LINK_ACTIONS = frozenset({"open_profile", "relink"})


async def handle_desktop_action(record: DesktopActionTaken, deps: Deps) -> list[Outgoing]:
    """Link the interaction to the profile the agent opened (the last one opened wins),
    re-target the activities already emitted for it when the link moved (streams/activities.py:
    automatic ones recomputed from the entry, manual ones from the log) and send that agent a
    fresh pop showing it; other desktop actions are not ours."""
    directory = deps.directory
    # Without a directory (no local CRM) there is no profile to link to.
    if not directory.local_crm or record.action not in LINK_ACTIONS or not record.profile_id:
        return []
    party = await deps.parties.lookup(record.tenant_id, record.interaction_id)
    action = LinkAction(
        event_id=record.event_id,
        at_ms=to_ms(record.occurred_at),
        profile_id=record.profile_id,
        by=AGENT,
        agent_id=record.agent_id,
        action=record.action,
        record_id=record.record_id if record.crm else None,
        crm=record.crm,
    )
    token = party.token if party else None
    tenant_id, interaction_id = record.tenant_id, record.interaction_id
    current = await apply_link(directory, tenant_id, interaction_id, token, action)
    at_ms = current.at_ms if current else action.at_ms
    entry = (await deps.timeline.get(tenant_id, party.token, interaction_id)
             if party is not None else None)
    # The link is written before the entry is read (the writer of automatic activities
    # folds the entry before it reads the link): one of the two sees the other.
    # One read of the link, the profile and the log serves both kinds of re-target.
    state = await link_state(deps, tenant_id, interaction_id)
    moved = await retarget_logged(deps, tenant_id, interaction_id, party, at_ms, state)
    # The link before this action (a redelivered action is left out too, so a crash after
    # the link write re-emits the same requests: duplicates the sink ignores).
    before = current_link(a for a in state.actions if a.event_id != record.event_id)
    if not same_target(before, state.link) and entry is not None:
        # Every CRM the rule activities went to: the one chosen when they were first
        # written and each chosen since (choose_crm copied them there).
        crms = crms_written(state.book.choices, fired_ms(entry))
        moved = [*await recomputed(deps, party, entry, at_ms, state, crms), *moved]
    if party is None or entry is None:
        return moved
    decision = PopDecision(record.agent_id, suppressed=False, trigger=record.action)
    pop = await render_pop(deps, party, entry, decision, record.event_id, action.at_ms)
    return [*moved, pop_out(pop)]
