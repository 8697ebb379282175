"""request_manual_activities: desktop add_note/add_task/add_call/add_event -> activity requests."""

from __future__ import annotations

from typing import Any

from schemas.records import DesktopActionTaken
from schemas.topics import ACTIVITIES_REQUESTED, DESKTOP
from streams.activities import handle_desktop_activity
from streams.app import TOPICS, app, deps, raw_topic, send, stats
from streams.processing import process

# Shared with the other agents of this process that read the desktop topic.
TOPICS.setdefault(DESKTOP, raw_topic(DESKTOP))
TOPICS.setdefault(ACTIVITIES_REQUESTED, raw_topic(ACTIVITIES_REQUESTED))


@app.agent(TOPICS[DESKTOP])
async def request_manual_activities(stream: Any) -> None:
    """Turn an agent's manual note/task/call/event into an activity for the CRM sink."""
    async for event in stream.events():
        await process(
            event.message,
            stage="desktop_activities",
            deps=deps(),
            handle=lambda record, _raw: handle_desktop_activity(record, deps()),
            send=send,
            stats=stats("desktop_activities"),
            expect=(DesktopActionTaken,),
        )
