"""request_activities: by-party events -> activity requests when a rule holds at wrap-up."""

from __future__ import annotations

import os
from typing import Any

from schemas.records import PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY
from streams.activities import handle_request_activity
from streams.app import TOPICS, app, deps, send, settings, stats
from streams.processing import process
from streams.rules_config import RulesSource

# Loaded when the worker starts, so a bad C360_RULES_FILE stops it with the list of
# problems; afterwards the file is re-read when it changes (a bad edit keeps the last good).
RULES = RulesSource.from_env(os.environ, settings.activity_min_call_seconds)


@app.agent(TOPICS[INTERACTIONS_BY_PARTY])
async def request_activities(stream: Any) -> None:
    """Emit activity requests when a tenant's automation rule holds at wrap-up."""
    async for event in stream.events():
        await process(
            event.message,
            stage="activity",
            deps=deps(),
            handle=lambda record, _raw: handle_request_activity(record, deps(), RULES.current()),
            send=send,
            stats=stats("activity"),
            expect=(PartyInteraction,),
        )
