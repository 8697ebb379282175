"""Record an interaction -> profile link and flip the profiles' timeline marks to match."""

from __future__ import annotations

import structlog

from core.links import LinkAction, LinkMark, current_link, link_marks
from streams.directory import DirectoryDeps

log = structlog.get_logger("c360.links")


async def apply_link(
    directory: DirectoryDeps,
    tenant_id: str,
    interaction_id: str,
    token: str | None,
    action: LinkAction,
) -> LinkAction | None:
    """Add the action; every profile involved gets an IN/OUT mark from the resulting link.

    Marks are recomputed from the whole action set each time (not from a diff), so a
    redelivered action, or a crash between the writes, converges to the same marks.
    """
    links = directory.links
    actions = await links.record(tenant_id, interaction_id, token, action)
    token = token or await links.token_of(tenant_id, interaction_id)
    matched: list[str] = []
    if token:
        matched = await directory.profiles.lookup(tenant_id, token)
    for profile_id, state in link_marks(actions, matched).items():
        await links.mark(tenant_id, profile_id, LinkMark(interaction_id, state, token or ""))
    current = current_link(actions)
    log.info(
        "interaction_linked",
        interaction_id=interaction_id,
        action=action.action,
        by=action.by,
        linked=current.profile_id if current else None,
    )
    return current
