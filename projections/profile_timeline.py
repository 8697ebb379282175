"""A profile's timeline: its identifiers' timelines, plus interactions linked in, minus out."""

from __future__ import annotations

from collections.abc import Sequence

from core.links import IN, OUT
from core.ports import InteractionLinks, ProfileDirectory, TimelineStore
from core.timeline import InteractionEntry


async def profile_timeline(
    directory: ProfileDirectory,
    links: InteractionLinks,
    timeline: TimelineStore,
    tenant_id: str,
    profile_id: str,
    channels: Sequence[str],
    now_ms: int,
    limit: int,
    window_ms: int | None = None,
) -> list[InteractionEntry]:
    """Newest-first entries of the profile (the read model's GET /v1/profiles/{id} uses it).

    Union of `TimelineStore.read` over the tokens that resolve to the profile, minus
    interactions an agent linked to another profile (OUT marks), plus interactions linked to
    this profile from other identifiers (IN marks). `window_ms` drops linked-in entries that
    started before the retention window (identifier reads already apply it).
    """
    tokens = await directory.tokens_of(tenant_id, profile_id)
    marks = await links.marks(tenant_id, profile_id)
    hidden = {m.interaction_id for m in marks if m.state == OUT}
    found: dict[str, InteractionEntry] = {}
    for token in tokens:
        for entry in await timeline.read(tenant_id, token, channels, now_ms, limit + len(hidden)):
            if entry.interaction_id not in hidden:
                found.setdefault(entry.interaction_id, entry)
    floor = None if window_ms is None else now_ms - window_ms
    for mark in marks:
        if mark.state != IN or mark.interaction_id in found or not mark.token:
            continue
        linked = await timeline.get(tenant_id, mark.token, mark.interaction_id)
        if linked is None or linked.channel not in channels:
            continue
        if floor is None or linked.started_ms >= floor:
            found[linked.interaction_id] = linked
    ordered = sorted(found.values(), key=lambda e: (e.started_ms, e.interaction_id), reverse=True)
    return ordered[:limit]
