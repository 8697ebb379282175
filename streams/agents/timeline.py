"""project_timeline: by-party events -> fold every event into its party's redis timeline."""

from __future__ import annotations

from typing import Any

from schemas.records import PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY
from streams.app import TOPICS, app, deps, send, stats
from streams.handlers import Outgoing, handle_project_timeline
from streams.processing import process


async def _timeline(record: Any) -> list[Outgoing]:
    await handle_project_timeline(record, deps())
    return []


@app.agent(TOPICS[INTERACTIONS_BY_PARTY])
async def project_timeline(stream: Any) -> None:
    """Fold every event into its party's Redis timeline."""
    async for event in stream.events():
        await process(
            event.message,
            stage="timeline",
            deps=deps(),
            handle=lambda record, _raw: _timeline(record),
            send=send,
            stats=stats("timeline"),
            expect=(PartyInteraction,),
        )
