"""process_interactions: canonical events -> party, timeline, pops, by-party records, activities."""

from __future__ import annotations

from typing import Any

from schemas.topics import INTERACTIONS
from streams.app import TOPICS, app, deps, send_many, settings, stats
from streams.pipeline import PartyCache
from streams.pop_metrics import PopMetrics
from streams.processing import process_batch

_EMPTY = PopMetrics()
_CACHE = PartyCache()


@app.agent(TOPICS[INTERACTIONS])
async def process_interactions(stream: Any) -> None:
    """One pass per batch: each event decoded once and folded once; pops go out first.
    A batch is acknowledged (and so committed) only after its outputs are acknowledged."""
    within = max(settings.batch_within_ms, 1) / 1000  # 0 would mean "wait until full"
    async for events in stream.take_events(settings.batch_max_events, within=within):
        await process_batch(
            [event.message for event in events],
            stage="interactions",
            deps=deps(),
            cache=_CACHE,
            send_many=send_many,
            stats=stats("interactions"),
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
