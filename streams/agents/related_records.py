"""project_related_records: CRM results and desktop link/unlink -> related records."""

from __future__ import annotations

from typing import Any

from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_related import RedisRelatedRecords
from projections.related import RelatedRecordsStore
from schemas.records import ActivityResult, DesktopActionTaken
from schemas.topics import ACTIVITIES_RESULTS, DESKTOP
from streams.activities import handle_activity_result, handle_related_action, related_hook
from streams.app import TOPICS, app, deps, raw_topic, send, settings, stats
from streams.processing import process

TOPICS.setdefault(DESKTOP, raw_topic(DESKTOP))
TOPICS.setdefault(ACTIVITIES_RESULTS, raw_topic(ACTIVITIES_RESULTS))
_store: list[RelatedRecordsStore] = []


def store() -> RelatedRecordsStore:
    """The related-records store, built on first use inside the worker's event loop; the
    screen pops show the records too (DirectoryDeps.related).
    TODO(lead): build it in streams.bootstrap.build_deps and carry it on Deps."""
    if not _store:
        _store.append(RedisRelatedRecords(redis_client(settings.redis_url),
                                          Keys(settings.key_namespace)))
        directory = deps().directory
        if directory is not None and directory.related is None:
            directory.related = related_hook(deps(), _store[0])
    return _store[0]


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
