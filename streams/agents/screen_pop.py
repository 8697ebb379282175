"""request_screen_pops: by-party events -> pre-warm on IVR entry, pop (or suppress) for agents."""

from __future__ import annotations

from typing import Any

from schemas.records import PartyInteraction
from schemas.topics import INTERACTIONS_BY_PARTY
from streams.app import TOPICS, app, deps, send, stats
from streams.pop_metrics import PopMetrics
from streams.processing import process
from streams.screen_pops import handle_request_screen_pop

_EMPTY = PopMetrics()


@app.agent(TOPICS[INTERACTIONS_BY_PARTY])
async def request_screen_pops(stream: Any) -> None:
    """Emit screen pops (or suppressed decisions) for agents."""
    async for event in stream.events():
        await process(
            event.message,
            stage="screen_pop",
            deps=deps(),
            handle=lambda record, _raw: handle_request_screen_pop(record, deps()),
            send=send,
            stats=stats("screen_pop"),
            expect=(PartyInteraction,),
        )


def _metrics() -> PopMetrics:
    directory = deps().directory
    return directory.metrics if directory is not None else _EMPTY


@app.page("/c360/screen-pops/metrics")
async def screen_pop_metrics(view: Any, _request: Any) -> Any:
    """Event -> pop latency histogram and decision counters, Prometheus text format."""
    return view.text(_metrics().prometheus(), content_type="text/plain; version=0.0.4")


@app.page("/c360/screen-pops/stats")
async def screen_pop_stats(view: Any, _request: Any) -> Any:
    """The same metrics as JSON."""
    return view.json(_metrics().as_dict())
