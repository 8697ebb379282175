"""Screen-pop metrics kept in the worker: event -> pop latency histogram and decision counters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

# Milliseconds; the buckets bracket the product goal (a pop ready when the agent leg rings,
# i.e. well under a second) and show a backlog when one builds up.
BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


def _total(counter: Counter) -> int:
    """An unlabelled counter's value."""
    return sum(_by_label(counter, "").values())


def _by_label(counter: Counter, label: str) -> dict[str, int]:
    """A labelled counter's values by that label."""
    return {
        s.labels.get(label, ""): int(s.value)
        for m in counter.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }


class PopMetrics:
    """The latency histogram and the decision counters, registered on `registry` (the
    worker's, served at /metrics; a private one by default, e.g. in tests). Labels are match
    statuses and suppression reasons: never an identifier."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        on = self.registry
        self._latency = Histogram(
            "c360_screen_pop_latency_ms",
            "Trigger event occurred_at to screen pop emitted, milliseconds.",
            buckets=BUCKETS_MS,
            registry=on,
        )
        self._pops = Counter(
            "c360_screen_pops", "Screen pops emitted, by match status.", ["status"], registry=on
        )
        self._suppressed = Counter(
            "c360_screen_pops_suppressed",
            "Screen pops suppressed, by reason.",
            ["reason"],
            registry=on,
        )
        self._prewarmed = Counter(
            "c360_screen_pop_prewarmed", "Panels pre-computed at IVR entry.", registry=on
        )
        self._hits = Counter(
            "c360_screen_pop_prewarm_hits", "Pops served from the pre-warm cache.", registry=on
        )
        self._misses = Counter(
            "c360_screen_pop_prewarm_misses",
            "Pre-warmed panels that could not be used (stale or another profile).",
            registry=on,
        )

    def observe(self, latency_ms: int, status: str, suppression_reason: str | None) -> None:
        """Record one emitted pop: trigger occurred_at -> emitted, in ms (clamped at 0)."""
        self._latency.observe(max(0, latency_ms))
        if suppression_reason:
            self._suppressed.labels(reason=suppression_reason).inc()
        else:
            self._pops.labels(status=status).inc()

    def prewarm_stored(self) -> None:
        """A panel was computed at IVR entry and cached for the agent leg."""
        self._prewarmed.inc()

    def prewarm_hit(self) -> None:
        """A pop reused the pre-warmed panel."""
        self._hits.inc()

    def prewarm_miss(self) -> None:
        """A pre-warmed panel was there but could not be used."""
        self._misses.inc()

    @property
    def statuses(self) -> dict[str, int]:
        """Emitted pops by match status so far."""
        return _by_label(self._pops, "status")

    @property
    def suppressed(self) -> dict[str, int]:
        """Suppressed pops by reason so far."""
        return _by_label(self._suppressed, "reason")

    @property
    def prewarmed(self) -> int:
        """Panels pre-computed so far."""
        return _total(self._prewarmed)

    @property
    def prewarm_hits(self) -> int:
        """Pops served from the pre-warm cache so far."""
        return _total(self._hits)

    @property
    def prewarm_misses(self) -> int:
        """Unusable pre-warmed panels so far."""
        return _total(self._misses)

    @property
    def latency_count(self) -> int:
        """Pops observed by the histogram (emitted and suppressed)."""
        return int(self._latency_doc()["count"])

    def _latency_doc(self) -> dict[str, Any]:
        buckets: list[int] = []
        total, count = 0.0, 0
        for metric in self._latency.collect():
            for sample in metric.samples:
                if sample.name.endswith("_bucket"):
                    buckets.append(int(sample.value))
                elif sample.name.endswith("_sum"):
                    total = sample.value
                elif sample.name.endswith("_count"):
                    count = int(sample.value)
        # The samples come in bucket order, +Inf last; latencies are whole milliseconds.
        keys = [*(str(b) for b in BUCKETS_MS), "+Inf"]
        return {"buckets": dict(zip(keys, buckets, strict=True)), "sum": int(total), "count": count}

    def as_dict(self) -> dict[str, Any]:
        """JSON form (GET /c360/screen-pops/stats)."""
        return {
            "latency_ms": self._latency_doc(),
            "pops_by_status": self.statuses,
            "suppressed_by_reason": self.suppressed,
            "prewarmed": self.prewarmed,
            "prewarm_hits": self.prewarm_hits,
            "prewarm_misses": self.prewarm_misses,
        }

    def prometheus(self) -> str:
        """These metrics alone in the Prometheus text format (the worker serves its whole
        registry at /metrics)."""
        return generate_latest(_Only(self._families())).decode()

    def _families(self) -> list[Metric]:
        metrics = (
            self._latency,
            self._pops,
            self._suppressed,
            self._prewarmed,
            self._hits,
            self._misses,
        )
        return [family for metric in metrics for family in metric.collect()]


class _Only(Collector):
    """A collector of given metric families (to render a subset of a registry)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
