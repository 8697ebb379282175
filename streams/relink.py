"""Desktop link actions: the agent opens another profile or relinks; the pop follows it."""

from __future__ import annotations

from core.links import AGENT, LinkAction
from core.policies import PopDecision
from core.timeline import to_ms
from schemas.records import DesktopActionTaken
from streams.activities import retarget_logged
from streams.handlers import Deps, Outgoing
from streams.linking import apply_link
from streams.screen_pops import pop_out, render_pop

LINK_ACTIONS = frozenset({"open_profile", "relink"})


async def handle_desktop_action(record: DesktopActionTaken, deps: Deps) -> list[Outgoing]:
    """Link the interaction to the profile the agent opened (the last one opened wins),
    re-target the activities already emitted for it (streams/activities.py) and send that
    agent a fresh pop showing it; other desktop actions are not ours."""
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
    current = await apply_link(directory, record.tenant_id, record.interaction_id, token, action)
    moved = await retarget_logged(deps, record.tenant_id, record.interaction_id, party,
                                  current.at_ms if current else action.at_ms)
    if party is None:
        return moved
    entry = await deps.timeline.get(record.tenant_id, party.token, record.interaction_id)
    if entry is None:
        return moved
    decision = PopDecision(record.agent_id, suppressed=False, trigger=record.action)
    pop = await render_pop(deps, party, entry, decision, record.event_id, action.at_ms)
    return [*moved, pop_out(pop)]
