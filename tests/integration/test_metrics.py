"""GET /metrics on a real streams worker and a real web service (Tansu broker, Redis): the
Prometheus exposition counts a call's pop and its processing, and carries no identifier."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.topics import INTERACTIONS
from tests.factories import voice_call
from tests.integration.stack import DEADLINE, running_stack, stack_bearer

pytestmark = pytest.mark.integration

CALLER = "+442079460999"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, redis_url, tmp_path_factory):
    """One Faust worker and one HTTP service on a private topic prefix and key namespace."""
    with running_stack(kafka_bootstrap, redis_url, tmp_path_factory.mktemp("metrics")) as s:
        yield s


def _get(
    url: str, accept: str | None = None, auth: dict[str, str] | None = None
) -> tuple[str, str]:
    headers = {**({"Accept": accept} if accept else {}), **(auth or {})}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _pops(samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "c360_screen_pops_total")


def test_the_worker_serves_its_pop_and_stage_metrics(stack):
    """A call pops: the pop counters and latency histogram move, the interactions stage
    counts its events, and the same numbers are in the JSON stats."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    start = datetime.now(tz=UTC) - timedelta(seconds=20)
    events = voice_call("ix-m1", tenant=tenant, start=start, agent="agent-3", caller=CALLER)
    produce_all(
        make_producer(stack["bootstrap"]),
        stack["prefix"] + INTERACTIONS,
        [(e.interaction_id.encode(), codec.encode(e)) for e in events],
    )
    end = time.monotonic() + DEADLINE
    samples: dict = {}
    while time.monotonic() < end:
        try:
            content_type, text = _get(stack["worker"] + "/metrics")
        except OSError:  # the worker's web server is not up yet
            time.sleep(0.5)
            continue
        samples = _samples(text)
        processed = samples.get(("c360_stream_processed_total", (("stage", "interactions"),)))
        if _pops(samples) >= 1 and (processed or 0) >= len(events):
            break
        time.sleep(0.5)
    assert _pops(samples) >= 1, f"no pop counted: {sorted(samples)!r:.800}"
    assert content_type.startswith("text/plain; version=0.0.4")
    assert samples[("c360_screen_pop_latency_ms_count", ())] >= 1
    assert samples[("c360_screen_pop_latency_ms_bucket", (("le", "+Inf"),))] >= 1
    assert ("c360_stream_dead_lettered_total", (("stage", "interactions"),)) in samples
    assert ("c360_stream_offset_resets_total", ()) in samples
    assert ("c360_screen_pop_prewarm_hits_total", ()) in samples
    assert any(name.startswith("process_") for name, _ in samples)  # the runtime collectors
    for fragment in ("2079460999", CALLER, tenant):
        assert fragment not in text
    _, stats = _get(stack["worker"] + "/c360/screen-pops/stats")
    doc = json.loads(stats)
    assert sum(doc["pops_by_status"].values()) >= 1
    assert doc["latency_ms"]["buckets"]["+Inf"] == doc["latency_ms"]["count"] >= 1
    _, stage_stats = _get(stack["worker"] + "/c360/stats")
    assert json.loads(stage_stats)["interactions"]["processed"] >= len(events)


def test_openmetrics_when_the_scraper_asks_for_it(stack):
    """A scraper that accepts OpenMetrics gets it (the exposition ends with # EOF)."""
    content_type, text = _get(
        stack["worker"] + "/metrics", accept="application/openmetrics-text; version=1.0.0"
    )
    assert content_type.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")
    assert "c360_screen_pop_latency_ms" in text


def test_the_web_service_serves_its_own_metrics(stack):
    """The HTTP service has one /metrics too (its process's registry)."""
    # The web service's /metrics needs a credential with the `metrics` scope (a scraper's key).
    anonymous = urllib.request.Request(stack["http"] + "/metrics")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=5)
    assert refused.value.code == 401
    auth = stack_bearer(stack, "ops", ("metrics",))
    content_type, text = _get(stack["http"] + "/metrics", auth=auth)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert any(name.startswith("process_") for name, _ in _samples(text))
