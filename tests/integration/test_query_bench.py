"""`c360.bench_query.run(quick=True)` runs and returns a well-formed figure (never timed)."""

from __future__ import annotations

import pytest

from c360 import bench_query

pytestmark = pytest.mark.integration


def test_the_quick_query_bench_returns_one_well_formed_figure(kafka_bootstrap, redis_url):
    """One `query_p99_ms` figure with its same-run direct-Redis baseline, a target, a met
    flag and the p50 and error counts in the notes."""
    (figure,) = bench_query.run(kafka_bootstrap, redis_url, quick=True)
    assert set(figure) == {
        "figure",
        "value",
        "unit",
        "baseline_name",
        "baseline_value",
        "target",
        "met",
        "notes",
    }
    assert (figure["figure"], figure["unit"], figure["baseline_name"]) == (
        "query_p99_ms",
        "ms",
        "direct redis read",
    )
    assert isinstance(figure["value"], float)
    assert isinstance(figure["baseline_value"], float)
    assert figure["target"] == "<= 5 ms at 500 req/s"
    assert figure["met"] is False  # a quick run (100 req/s) never claims the 500 req/s target
    assert "p50" in figure["notes"]
    assert "errors" in figure["notes"]
    assert "60 indexed interactions" in figure["notes"]
