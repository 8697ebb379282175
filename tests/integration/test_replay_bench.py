"""The replay bench runs end to end and emits a well-formed figure (no timed assertion)."""

from __future__ import annotations

import json

import pytest

from c360.bench_replay import run

pytestmark = pytest.mark.integration


def test_quick_replay_bench_emits_one_well_formed_figure(kafka_bootstrap, redis_url):
    """Replay vs baselines on the same 5,000 records; the rebuilt namespaces agree."""
    figures = run(kafka_bootstrap, redis_url, quick=True)

    assert len(figures) == 1
    figure = figures[0]
    assert figure["figure"] == "replay" and figure["unit"] == "ev/s"
    assert figure["value"] > 0 and figure["baseline_value"] > 0
    assert figure["baseline_name"] and figure["notes"]
    assert figure["target"] == ">= 50000 ev/s and >= 2x baseline"
    assert isinstance(figure["met"], bool)
    assert figure["details"]["records"] == 5_000
    assert figure["details"]["identical"] is True
    json.dumps(figures)  # serialisable as the bench's JSON output
