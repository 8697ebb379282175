"""request_activities: by-party events -> activity requests when a rule holds at wrap-up."""

from __future__ import annotations

from typing import Any

from schemas.records import PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY
from streams.activities import handle_request_activity
from streams.app import TOPICS, app, deps, send, stats
from streams.processing import process


@app.agent(TOPICS[INTERACTIONS_BY_PARTY])
async def request_activities(stream: Any) -> None:
    """Emit activity requests when a tenant's automation rule holds at wrap-up."""
    async for event in stream.events():
        await process(
            event.message,
            stage="activity",
            deps=deps(),
            handle=lambda record, _raw: handle_request_activity(record, deps()),
            send=send,
            stats=stats("activity"),
            expect=(PartyInteraction,),
        )
