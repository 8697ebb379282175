"""`c360 bench --quick` on its embedded stack: it runs and emits well-formed figures (no
figure is asserted against a number: figures come from `c360 bench`, never from tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c360 import bench

pytestmark = pytest.mark.integration

OWN = ("live", "pops", "memory", "soak")
OTHERS = ("replay", "query")


@pytest.mark.timeout(420)
def test_quick_run_emits_every_figure_with_its_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """All benches on Tansu + a private Redis: the table, then one JSON document ending
    stdout; every figure has the same keys and a baseline; the worker really produced."""
    code = bench.main(["--quick", "--embedded", "--json", "-", "--log-dir", str(tmp_path)])
    out = capsys.readouterr().out
    doc = json.loads(out.strip().splitlines()[-1])
    assert doc["errors"] == [], doc["errors"]
    assert code == 0
    assert doc["schema"] == bench.SCHEMA and doc["quick"] is True
    assert doc["stack"]["kafka"] == "embedded Tansu"
    assert doc["stack"]["redis"] == "private redis-server"
    figures = doc["figures"]
    benches = {f["bench"] for f in figures}
    assert set(OWN) <= benches
    unavailable = {u["bench"] for u in doc["unavailable"]}
    for name in OTHERS:
        assert name in benches or name in unavailable, name
    for f in figures:
        assert tuple(f) == bench.FIGURE_KEYS, f
        assert f["baseline_name"], f
        assert isinstance(f["baseline_value"], int | float), f
        assert f["value"] is None or isinstance(f["value"], int | float), f
        assert f["met"] in (True, False, None)
        assert f["figure"] in out  # the table shows it
    by_name = {(f["bench"], f["figure"]): f for f in figures}
    [live] = [f for k, f in by_name.items() if k[0] == "live" and "throughput" in k[1]]
    assert live["value"] > 0
    assert live["details"]["events"] == 2000
    assert sum(live["details"]["outputs_seen"].values()) > 0
    [received] = [f for k, f in by_name.items() if k[0] == "pops" and "received" in k[1]]
    assert received["value"] > 0  # pops came out (how fast is the bench's business)
    [commands] = [f for k, f in by_name.items() if k[1] == "Redis commands per input event"]
    assert commands["value"] > 0
    assert all(f["value"] is not None for f in figures if f["bench"] in ("memory", "soak"))
