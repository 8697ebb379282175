"""The agents' processed / dead-lettered / retry counts and the offset resets, as Prometheus
counters read at scrape time (the counts stay plain ints on the hot path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.processing import Stats


class StageCounters(Collector):
    """c360_stream_{processed,dead_lettered,retries}_total{stage} and
    c360_stream_offset_resets_total, from the worker's Stats and its offset guard."""

    def __init__(self, stats: Mapping[str, Stats], offset_resets: Callable[[], int]) -> None:
        self._stats = stats
        self._offset_resets = offset_resets

    def collect(self) -> Iterator[Metric]:
        families = {
            "processed": CounterMetricFamily(
                "c360_stream_processed", "Input events processed, by agent stage.", labels=["stage"]
            ),
            "dead_lettered": CounterMetricFamily(
                "c360_stream_dead_lettered",
                "Input events dead-lettered, by agent stage.",
                labels=["stage"],
            ),
            "retries": CounterMetricFamily(
                "c360_stream_retries",
                "Retries in place (store, schema registry or broker unavailable), by stage.",
                labels=["stage"],
            ),
        }
        for stage, stats in sorted(self._stats.items()):
            for field, family in families.items():
                family.add_metric([stage], getattr(stats, field))
        yield from families.values()
        yield CounterMetricFamily(
            "c360_stream_offset_resets",
            "Input partitions restarted from the earliest offset (docs/operations.md).",
            value=self._offset_resets(),
        )
