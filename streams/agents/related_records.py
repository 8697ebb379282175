"""project_related_records: CRM results and desktop link/unlink -> related records."""

from __future__ import annotations

from typing import Any

from core.related import RelatedRecordsStore
from schemas.records import ActivityResult, DesktopActionTaken
from schemas.topics import ACTIVITIES_RESULTS, DESKTOP
from streams.activities import handle_activity_result, handle_related_action
from streams.app import TOPICS, app, deps, raw_topic, send, stats
from streams.processing import process

TOPICS.setdefault(DESKTOP, raw_topic(DESKTOP))
TOPICS.setdefault(ACTIVITIES_RESULTS, raw_topic(ACTIVITIES_RESULTS))


def store() -> RelatedRecordsStore:
    """The related-records store streams.bootstrap built (it also feeds the screen pops)."""
    related = deps().related
    if related is None:
        raise RuntimeError("streams.bootstrap.build_deps built no related-records store")
    return related


@app.agent(TOPICS[ACTIVITIES_RESULTS])
async def project_related_records(stream: Any) -> None:
    """The activity and contact a CRM write touched become related records."""
    store()
    async for event in stream.events():
        await process(
            event.message,
            stage="related_records",
            deps=deps(),
            handle=lambda record, _raw: handle_activity_result(record, store()),
            send=send,
            stats=stats("related_records"),
            expect=(ActivityResult,),
        )


@app.agent(TOPICS[DESKTOP])
async def link_related_records(stream: Any) -> None:
    """The agent's link_record / unlink_record decisions."""
    async for event in stream.events():
        await process(
            event.message,
            stage="related_links",
            deps=deps(),
            handle=lambda record, _raw: handle_related_action(record, store()),
            send=send,
            stats=stats("related_links"),
            expect=(DesktopActionTaken,),
        )
