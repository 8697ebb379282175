"""The agents: one per input topic, each a short loop over a runner; wired by create_app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from schemas.records import ActivityResult, DesktopActionTaken, ProfileUpserted
from schemas.topics import ACTIVITIES_RESULTS, CONTACTS, DESKTOP
from streams.activities import (
    handle_activity_result,
    handle_crm_choice,
    handle_desktop_activity,
    handle_related_action,
)
from streams.batching import Batcher
from streams.contacts import handle_profile_upserted
from streams.handlers import Deps
from streams.pipeline import PartyCache
from streams.processing import BatchSender, StatsBook, process_batch
from streams.relink import handle_desktop_action
from streams.runner import Route, Routes, Runner

AgentFun = Callable[[Any], Awaitable[None]]


def routes(deps: Deps) -> dict[str, Routes]:
    """The handler table of every single-message input topic: record type -> handlers.

    One desktop action is decoded once and offered to each of its handlers in order: the
    link/relink one (a fresh pop, re-targeted activities), the manual-activity one, the CRM
    choice and the related-records one.
    """
    return {
        DESKTOP: {
            DesktopActionTaken: (
                Route("desktop_links", lambda r: handle_desktop_action(r, deps)),
                Route("desktop_activities", lambda r: handle_desktop_activity(r, deps)),
                Route("crm_choice", lambda r: handle_crm_choice(r, deps)),
                Route("related_links", lambda r: handle_related_action(r, deps.related)),
            ),
        },
        ACTIVITIES_RESULTS: {
            ActivityResult: (
                Route("related_records", lambda r: handle_activity_result(r, deps.related)),
            ),
        },
        CONTACTS: {
            ProfileUpserted: (Route("contacts", lambda r: handle_profile_upserted(r, deps)),),
        },
    }


def message_agent(runner: Runner, name: str) -> AgentFun:
    """An agent that runs each message through `runner` (acked once it returns)."""

    async def agent(stream: Any) -> None:
        async for event in stream.events():
            await runner.handle(event.message)

    agent.__name__ = agent.__qualname__ = name  # Faust labels its logs with it
    return agent


def batch_agent(deps: Deps, send_many: BatchSender, stats: StatsBook) -> AgentFun:
    """The interactions agent: one pass per batch, each event decoded and folded once, pops
    first (streams/pipeline.py).

    Events keep flowing into the next batch while one is processed (Faust's take() stops
    its intake meanwhile, which made batches as small as a few milliseconds of intake), and
    an event is acknowledged, so committed, only after its batch's outputs are."""
    settings = deps.settings
    cache = PartyCache()  # this agent's: the topic is keyed by interaction id

    async def process_interactions(stream: Any) -> None:
        stream.enable_acks = False  # acked by the batcher, after processing

        async def handle(events: list[Any]) -> None:
            await process_batch(
                [event.message for event in events],
                stage="interactions",
                deps=deps,
                cache=cache,
                send_many=send_many,
                stats=stats.of("interactions"),
            )
            for event in events:
                await stream.ack(event)

        batcher = Batcher(handle, settings.batch_max_events, settings.batch_within_ms / 1000)
        runner = asyncio.create_task(batcher.run())
        try:
            async for event in stream.events():
                await batcher.put(event)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    return process_interactions
