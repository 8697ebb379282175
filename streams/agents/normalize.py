"""normalize_interactions: canonical events -> normalized, re-keyed by party."""

from __future__ import annotations

from typing import Any

from schemas.records import INTERACTION_EVENT_TYPES
from schemas.topics import INTERACTIONS
from streams.app import TOPICS, app, deps, send, stats
from streams.handlers import handle_interaction
from streams.processing import process


def _decode(raw: bytes) -> object:
    return deps().decode(raw)


@app.agent(TOPICS[INTERACTIONS])
async def normalize_interactions(stream: Any) -> None:
    """Normalize the customer identifier and re-key every event by party."""
    async for event in stream.events():
        await process(
            event.message,
            stage="normalize",
            deps=deps(),
            handle=lambda record, raw: handle_interaction(record, raw, deps(), _decode),
            send=send,
            stats=stats("normalize"),
            expect=INTERACTION_EVENT_TYPES,
        )
