"""link_interactions: desktop open_profile/relink actions -> interaction link + fresh pop."""

from __future__ import annotations

from typing import Any

from schemas.records import DesktopActionTaken
from schemas.topics import DESKTOP, SCREENPOPS
from streams.app import TOPICS, app, deps, raw_topic, send, stats
from streams.processing import process
from streams.relink import handle_desktop_action

# Shared with any other agent of this process that reads the topic (e.g. manual activities).
TOPICS.setdefault(DESKTOP, raw_topic(DESKTOP))
TOPICS.setdefault(SCREENPOPS, raw_topic(SCREENPOPS))


@app.agent(TOPICS[DESKTOP])
async def link_interactions(stream: Any) -> None:
    """Record which profile the agent opened last and re-pop that agent's panel."""
    async for event in stream.events():
        await process(
            event.message,
            stage="desktop_links",
            deps=deps(),
            handle=lambda record, _raw: handle_desktop_action(record, deps()),
            send=send,
            stats=stats("desktop_links"),
            expect=(DesktopActionTaken,),
        )
