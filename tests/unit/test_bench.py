"""`c360 bench`'s pure parts: figures, targets, the JSON shape, the table, the load it sends."""

from __future__ import annotations

import ast
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from c360 import bench, bench_live, bench_stack
from core.identity import normalize_phone
from core.policies import is_prewarm, pop_target
from schemas import codec
from schemas.records import InteractionOffered

ROOT = Path(__file__).resolve().parents[2]


def test_targets_on_value_and_on_ratio() -> None:
    """A value target reads the value, a ratio target value / baseline; unmeasured is None."""
    p99 = bench.Target("<=", 25.0)
    assert p99.met(20.0, None) is True
    assert p99.met(30.0, 0.1) is False
    assert p99.met(None, None) is None
    assert p99.text("ms") == "<= 25 ms"
    live = bench.Target(">=", 0.6, "ratio")
    assert live.met(100.0, 0.7) is True
    assert live.met(100.0, 0.5) is False
    assert live.text("ev/s") == ">= 0.6 x baseline"


def test_figure_json_has_every_key_and_its_ratio() -> None:
    """Every figure has the same keys; ratio = value / baseline; met from the target."""
    fig = bench.Figure(
        "live",
        "throughput",
        300.0,
        "ev/s",
        6000.0,
        "no-op",
        bench.Target(">=", 0.6, "ratio"),
        {"nested": {"x": 1.23456789}, "when": datetime(2026, 1, 1, tzinfo=UTC)},
    )
    doc = fig.as_dict()
    assert tuple(doc) == bench.FIGURE_KEYS
    assert doc["ratio"] == 0.05
    assert doc["met"] is False
    assert doc["details"]["nested"]["x"] == 1.2346
    json.dumps(doc)  # details are JSON-able whatever they held
    assert bench.Figure("x", "y", 1.0, "", 0.0, "zero").as_dict()["ratio"] is None
    assert bench.Figure("x", "y", None, "", 5.0, "b").as_dict()["met"] is None


def test_percentile_is_nearest_rank() -> None:
    """p50 of 1..100 is 50, p99 is 99, max rank clamps; empty gives None."""
    samples = [float(i) for i in range(1, 101)]
    assert bench.percentile(samples, 0.5) == 50.0
    assert bench.percentile(samples, 0.99) == 99.0
    assert bench.percentile(samples, 1.0) == 100.0
    assert bench.percentile([7.0], 0.99) == 7.0
    assert bench.percentile([], 0.5) is None


def test_other_modules_figures_are_mapped_onto_the_same_keys() -> None:
    """bench_query/bench_replay dicts (baseline_name/baseline_value/notes) keep their values;
    unknown keys go under details; the ratio is computed."""
    doc = bench.normalize_figure(
        "query",
        {
            "figure": "query_p99_ms",
            "value": 4.0,
            "unit": "ms",
            "baseline_name": "direct redis read",
            "baseline_value": 2.0,
            "target": "<= 5 ms at 500 req/s",
            "met": True,
            "notes": "500 req/s",
            "elapsed_s": 3.2,
        },
    )
    assert tuple(doc) == bench.FIGURE_KEYS
    assert doc["bench"] == "query"
    assert doc["ratio"] == 2.0
    assert doc["met"] is True
    assert doc["details"] == {"elapsed_s": 3.2}
    other = bench.normalize_figure("replay", {"name": "r", "value": 10, "baseline": 5})
    assert (other["figure"], other["baseline_value"], other["ratio"]) == ("r", 5.0, 2.0)
    assert other["met"] is None


def test_table_shows_every_figure_and_its_baseline() -> None:
    """One row per figure, '-' for what is missing, the baselines listed under the table."""
    figs = [
        bench.Figure(
            "pops", "p99", 12.5, "ms", 3.0, "plain hop", bench.Target("<=", 25.0)
        ).as_dict(),
        bench.Figure("soak", "rss", None, "MB", 1.0, "no-op app").as_dict(),
    ]
    text = bench.table(figs)
    lines = text.splitlines()
    assert lines[0].split() == [
        "bench",
        "figure",
        "value",
        "unit",
        "baseline",
        "ratio",
        "target",
        "met",
    ]
    assert lines[2].split()[:3] == ["pops", "p99", "12.5"]
    assert lines[2].endswith("<= 25 ms  yes")
    assert lines[3].split()[:3] == ["soak", "rss", "-"]
    assert "  pops: plain hop" in text and "  soak: no-op app" in text


def test_micro_benches_write_the_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`c360 bench fold codec --json FILE` needs no stack; `--json -` ends stdout with it."""
    out = tmp_path / "bench.json"
    assert bench.main(["fold", "codec", "--quick", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["schema"] == bench.SCHEMA
    assert [f["bench"] for f in doc["figures"]] == ["fold", "codec"]
    assert all(f["value"] and f["baseline_value"] for f in doc["figures"])
    capsys.readouterr()
    assert bench.main(["fold", "--quick", "--json", "-"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["figures"][0]["bench"] == "fold"


def test_unknown_bench_is_a_usage_error() -> None:
    """A misspelt bench name stops before anything starts."""
    with pytest.raises(SystemExit) as exc:
        bench.main(["lve"])
    assert exc.value.code == 2


def test_live_load_is_calls_of_four_events_over_the_callers() -> None:
    """10 calls -> 40 events: offer to an agent (a pop trigger, with the caller's number),
    accept, end, wrap-up; callers are spread and every number normalizes."""
    events = bench_live.live_load(10, 4, datetime.now(tz=UTC))
    assert len(events) == 40
    assert len({e.interaction_id for e in events}) == 10
    offers = [e for e in events if isinstance(e, InteractionOffered)]
    assert len(offers) == 10
    assert all(o.agent_id and o.queue and pop_target(o) for o in offers)
    assert len({o.from_address for o in offers}) == 4
    triggers = [t for _, _, t in bench_live.encoded(events) if t is not None]
    assert set(triggers) >= {o.event_id for o in offers}


def test_two_thousand_distinct_valid_callers() -> None:
    """The 2,000 callers are distinct fictional numbers that the normalizer accepts (none
    would be dead-lettered)."""
    numbers = [bench_live.caller(k) for k in range(2000)]
    assert len(set(numbers)) == 2000
    for n in [*numbers[::97], numbers[999], numbers[1000], numbers[-1]]:
        assert normalize_phone(n, "GB").value == n


def test_paced_load_is_ivr_then_agent_legs_at_the_rate() -> None:
    """Calls of 5 events, the first an IVR entry (pre-warm); event j occurs at start + j/rate;
    records are keyed by interaction id and decode back."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    events = bench_live.paced_load(12, 200.0, start)
    assert len(events) == 12
    assert is_prewarm(events[0]) and is_prewarm(events[5])
    assert [e.occurred_at for e in events] == [
        start + timedelta(seconds=j / 200.0) for j in range(12)
    ]
    key, value, trigger = bench_live.encoded(events[:2])[1]
    assert key == events[1].interaction_id.encode()
    assert codec.decode(value) == events[1]
    assert trigger == events[1].event_id


def test_latency_stats_and_fraction() -> None:
    """Only received triggers count in the percentiles; the fraction says how many came."""
    sent = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
    received = {"a": 1.010, "b": 2.020, "c": 3.005}
    stats = bench_live.latency_stats(sent, received)
    assert stats["received"] == 3 and stats["fraction"] == 0.75
    assert stats["p50_ms"] == pytest.approx(10.0)
    assert stats["max_ms"] == pytest.approx(20.0)
    assert bench_live.latency_stats({}, {})["fraction"] is None


def test_rss_growth_starts_after_the_warm_up() -> None:
    """Growth is measured from the first sample past 10% of the run to the last one."""
    mb = 1_048_576
    samples = [(0.0, 50 * mb), (5.0, 60 * mb), (10.0, 61 * mb), (100.0, 63 * mb)]
    got = bench_live.rss_growth(samples, 100.0)
    assert got["growth_mb"] == 2.0  # 61 MB at t=10 s (10% of 100 s) -> 63 MB
    assert got["from_start_mb"] == 13.0
    assert got["peak_mb"] == 63.0
    assert bench_live.rss_growth([(0.0, None)], 10.0) == {"growth_mb": None}


def test_probes_parse_proc_and_commandstats() -> None:
    """VmRSS in bytes; commandstats without our own INFO calls; deltas drop zeros."""
    assert bench_stack.parse_vmrss("Name:\tpython\nVmRSS:\t  2048 kB\n") == 2 * 1024 * 1024
    assert bench_stack.parse_vmrss("Name: x\n") is None
    own = bench_stack.rss_bytes(os.getpid())
    assert own is not None and own > 0
    stats = {
        "cmdstat_hset": {"calls": 10, "usec": 5},
        "cmdstat_info": {"calls": 99},
        "cmdstat_evalsha": {"calls": 2},
    }
    before = bench_stack.parse_commandstats(stats)
    assert before == {"hset": 10, "evalsha": 2}
    after = {"hset": 14, "evalsha": 2, "get": 1}
    assert bench_stack.command_delta(before, after) == {"get": 1, "hset": 4}


def _app_keywords(source: str) -> dict[str, ast.expr]:
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "App"
        ):
            return {k.arg: k.value for k in node.keywords if k.arg}
    raise AssertionError("no faust.App(...) call")


def test_noop_baseline_runs_the_worker_faust_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The no-op app sets every setting streams/app.py sets, with the same literal values:
    otherwise the live baseline measures a different Faust."""
    monkeypatch.setenv("C360_ENV", "dev")
    from c360 import bench_noop_app  # noqa: PLC0415 - builds a Faust app

    ours = bench_noop_app._faust_settings()
    theirs = _app_keywords((ROOT / "streams" / "app.py").read_text())
    assert set(theirs) <= set(ours), set(theirs) - set(ours)
    for name, node in theirs.items():
        if isinstance(node, ast.Constant):
            assert ours[name] == node.value, name
    assert bench_noop_app.noop.fun is not None  # the agent is registered
