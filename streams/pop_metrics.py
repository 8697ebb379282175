"""Screen-pop metrics kept in the worker: event -> pop latency histogram and decision counters."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Milliseconds; the buckets bracket the product goal (a pop ready when the agent leg rings,
# i.e. well under a second) and show a backlog when one builds up.
BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


@dataclass(slots=True)
class PopMetrics:
    """Counters and a cumulative latency histogram, rendered as Prometheus text or JSON."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))
    latency_sum_ms: int = 0
    latency_count: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    prewarm_hits: int = 0
    prewarm_misses: int = 0
    prewarmed: int = 0

    def observe(self, latency_ms: int, status: str, suppression_reason: str | None) -> None:
        """Record one emitted pop: trigger occurred_at -> emitted, in ms (clamped at 0)."""
        latency_ms = max(0, latency_ms)
        self.buckets[bisect_left(BUCKETS_MS, latency_ms)] += 1
        self.latency_sum_ms += latency_ms
        self.latency_count += 1
        if suppression_reason:
            self.suppressed[suppression_reason] += 1
        else:
            self.statuses[status] += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON form (GET /c360/screen-pops/stats)."""
        cumulative, running = {}, 0
        for bound, count in zip((*BUCKETS_MS, "+Inf"), self.buckets, strict=True):
            running += count
            cumulative[str(bound)] = running
        return {
            "latency_ms": {
                "buckets": cumulative,
                "sum": self.latency_sum_ms,
                "count": self.latency_count,
            },
            "pops_by_status": dict(self.statuses),
            "suppressed_by_reason": dict(self.suppressed),
            "prewarmed": self.prewarmed,
            "prewarm_hits": self.prewarm_hits,
            "prewarm_misses": self.prewarm_misses,
        }

    def prometheus(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        doc = self.as_dict()
        name = "c360_screen_pop_latency_ms"
        lines = [
            f"# HELP {name} Trigger event occurred_at to screen pop emitted, milliseconds.",
            f"# TYPE {name} histogram",
        ]
        buckets = doc["latency_ms"]["buckets"].items()
        lines += [f'{name}_bucket{{le="{le}"}} {n}' for le, n in buckets]
        lines += [f"{name}_sum {self.latency_sum_ms}", f"{name}_count {self.latency_count}"]
        lines += ["# TYPE c360_screen_pops_total counter"]
        lines += [
            f'c360_screen_pops_total{{status="{s}"}} {n}' for s, n in sorted(self.statuses.items())
        ]
        lines += ["# TYPE c360_screen_pops_suppressed_total counter"]
        lines += [
            f'c360_screen_pops_suppressed_total{{reason="{r}"}} {n}'
            for r, n in sorted(self.suppressed.items())
        ]
        for metric, value in (
            ("c360_screen_pop_prewarmed_total", self.prewarmed),
            ("c360_screen_pop_prewarm_hits_total", self.prewarm_hits),
            ("c360_screen_pop_prewarm_misses_total", self.prewarm_misses),
        ):
            lines += [f"# TYPE {metric} counter", f"{metric} {value}"]
        return "\n".join(lines) + "\n"
