"""A private Redis paused, restarted with its data and restarted empty, during a stream."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from c360.localstack import redis_answers, start_redis
from c360.procs import Child, spawn
from schemas.topics import DLQ, INTERACTIONS, INTERACTIONS_BY_PARTY
from tests.faults.harness import (
    DEADLINE,
    Calls,
    IdCounter,
    Stack,
    TopicReader,
    figure,
    publish,
)
from tests.faults.harness import reader as read_credential

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PHASE = 60  # calls published per phase (x ~5.25 events)


def _read_with_headers(url: str, timeout: float,
                       headers: dict[str, str] | None = None) -> tuple[int, str | None, float]:
    """(status, Retry-After, seconds taken) of one GET; status 0 when nothing answered."""
    began = time.monotonic()
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.headers.get("Retry-After"), time.monotonic() - began
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After"), time.monotonic() - began
    except OSError:
        return 0, None, time.monotonic() - began


def _check_timelines(stack: Stack, calls: Calls, numbers: range) -> list[str]:
    """Problems with the timeline of every party of `numbers` (each call once, its last
    wrap-up); [] when all is right."""
    per_party: dict[str, set[int]] = {}
    for n in numbers:
        per_party.setdefault(calls.caller(n), set()).add(n)
    wrong: list[str] = []
    for caller, mine in per_party.items():
        status, doc = stack.timeline(caller, calls.tenant)
        if status != 200:
            wrong.append(f"{caller[-5:]}: HTTP {status} {doc}")
            continue
        got = Counter(i["interaction_id"] for i in doc["items"])
        expected = {f"ix-{n}" for n in mine}
        if set(got) != expected or max(got.values()) > 1:
            wrong.append(f"{caller[-5:]}: diff {sorted(set(got) ^ expected)[:5]} "
                         f"dup {[k for k, v in got.items() if v > 1]}")
        wrong += [f"{i['interaction_id']}: {i['disposition']}" for i in doc["items"]
                  if i["disposition"] != calls.disposition(int(i["interaction_id"][3:]))]
    return wrong


def _restart(child: Child, url: str, tmp_path, n: int) -> Child:
    """A new redis-server with the same argv: same port, same dir (dump.rdb if any)."""
    fresh = spawn("redis", child.argv, tmp_path / f"redis-{n}.log")
    end = time.monotonic() + DEADLINE
    while not redis_answers(url):
        assert time.monotonic() < end and fresh.alive(), fresh.log_tail()
        time.sleep(0.1)
    return fresh


# Liveness bound for a read or /ready while Redis is frozen: twice the Redis client's 5 s
# socket timeout; probes and clients give up sooner (a Kubernetes probe after 1 s).
PROBE_SECONDS = 10.0
MIN_PAUSE_SECONDS = 12.0


@pytest.fixture(scope="module")
def redis_run(kafka_bootstrap, tmp_path_factory) -> dict[str, Any]:
    """Run the whole scenario once (pause, restart with data, restart empty) and return
    what was observed; the tests below judge it."""
    tmp_path = tmp_path_factory.mktemp("redis-faults")
    child, url = start_redis(tmp_path / "redis", tmp_path / "redis-0.log")
    stack = Stack(kafka_bootstrap, url, tmp_path)
    stack.create_topics()
    calls = Calls(f"r{uuid.uuid4().hex[:6]}", 3 * PHASE, parties=30)
    later = Calls(f"e{uuid.uuid4().hex[:6]}", PHASE, parties=30)
    topic = stack.topic(INTERACTIONS)
    reader = TopicReader(kafka_bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
    ids = IdCounter(reader)
    want: set[str] = set()
    seen: dict[str, Any] = {}

    def phase(events) -> None:
        publish(kafka_bootstrap, topic, events)
        want.update(e.event_id for e in events)

    try:
        stack.start_web()
        stack.start_worker()
        phase(calls.events(0, PHASE))
        assert ids.wait(len(want)), stack.worker.log_tail() if stack.worker else ""
        assert stack.ready()[0] == 200

        # 1. SIGSTOP: connections hang. Publish meanwhile; probe a read (no connection of
        # the web service's pool is open yet) and the worker's /ready; then thaw.
        os.kill(child.pid, signal.SIGSTOP)
        paused = time.monotonic()
        try:
            phase(calls.events(PHASE, PHASE))
            query = urllib.parse.urlencode({"identifier": calls.caller(0),
                                            "tenant": calls.tenant, "channel": "voice"})
            with ThreadPoolExecutor(2) as pool:
                read = pool.submit(_read_with_headers,
                                   f"{stack.env_url('http')}/v1/timeline?{query}",
                                   PROBE_SECONDS, read_credential(calls.tenant))
                ready = pool.submit(_read_with_headers, f"{stack.env_url('worker')}/ready",
                                    PROBE_SECONDS)
                seen["pause_read"] = read.result()
                seen["pause_ready"] = ready.result()
            # Frozen past the worker's 5 s socket timeout, so its retry in place is exercised.
            time.sleep(max(0.0, MIN_PAUSE_SECONDS - (time.monotonic() - paused)))
        finally:
            os.kill(child.pid, signal.SIGCONT)
        pause_s = time.monotonic() - paused
        seen["after_pause_caught_up"] = ids.wait(len(want))
        figure("redis_pause", pause_s=round(pause_s, 1),
               read=[seen["pause_read"][0], seen["pause_read"][1],
                     round(seen["pause_read"][2], 1)],
               ready=[seen["pause_ready"][0], round(seen["pause_ready"][2], 1)],
               caught_up_after_thaw_s=round(time.monotonic() - paused - pause_s, 1))

        # 2. Restart with data: SAVE, stop, publish while it is down, start on the same port.
        redis.Redis.from_url(url).save()
        child.stop(10)
        down = time.monotonic()
        phase(calls.events(2 * PHASE, PHASE))
        time.sleep(3)  # the worker meets the outage (connection refused), retries in place
        child = _restart(child, url, tmp_path, 1)
        back = time.monotonic()
        seen["restart_first_read"] = stack.timeline(calls.caller(0), calls.tenant)[0]
        seen["restart_caught_up"] = ids.wait(len(want))
        figure("redis_restart_with_data", down_s=round(back - down, 1),
               first_read_status=seen["restart_first_read"],
               caught_up_after_restart_s=round(time.monotonic() - back, 1))
        seen["restart_timelines"] = _check_timelines(stack, calls, range(3 * PHASE))

        # 3. Restart empty: the projections are gone (Redis is a cache of the log; a
        # rebuild is `c360 replay`), new calls are projected and reads answer.
        child.stop(10)
        (tmp_path / "redis" / "dump.rdb").unlink()
        down = time.monotonic()
        phase(later.events())
        time.sleep(3)
        child = _restart(child, url, tmp_path, 2)
        back = time.monotonic()
        seen["empty_first_read"] = stack.timeline(later.caller(0), later.tenant)[0]
        seen["empty_caught_up"] = ids.wait(len(want))
        figure("redis_restart_empty", down_s=round(back - down, 1),
               first_read_status=seen["empty_first_read"],
               caught_up_after_restart_s=round(time.monotonic() - back, 1))
        seen["empty_timelines"] = _check_timelines(stack, later, range(PHASE))
        seen["ready_after"] = stack.ready()[0]
        reader.poll(1)
        ids.refresh()
        seen["missing"] = len(want - ids.distinct)
        seen["unexpected"] = len(ids.distinct - want)
        letters = TopicReader(kafka_bootstrap, stack.topic(DLQ))
        letters.poll(2)
        letters.close()
        seen["dead_letters"] = letters.decoded()
        seen["retried_in_place"] = "store_unavailable_retrying" in stack.worker_log()
        seen["worker_alive"] = stack.worker is not None and stack.worker.alive()
        figure("redis_faults", events=len(want), calls=4 * PHASE,
               by_party_records=len(ids.ids), lost=seen["missing"],
               dead_letters=len(seen["dead_letters"]), worker_starts=stack.starts)
        return seen
    finally:
        reader.close()
        stack.stop()
        if child.alive():
            os.kill(child.pid, signal.SIGCONT)
            child.stop(5)


def test_redis_pause_and_restarts_during_a_stream_lose_nothing(redis_run):
    """Every event published before, during and after each outage has its by-party record;
    every call is one timeline entry with its last wrap-up; nothing was dead-lettered; the
    worker retried in place and stayed up."""
    seen = redis_run
    assert seen["after_pause_caught_up"], "events published during the pause were lost"
    assert seen["restart_caught_up"], "events published while Redis was down were lost"
    assert seen["empty_caught_up"], "events published before an empty Redis came were lost"
    assert (seen["missing"], seen["unexpected"]) == (0, 0)
    assert seen["restart_timelines"] == []
    assert seen["empty_timelines"] == []
    assert seen["dead_letters"] == []
    assert seen["retried_in_place"]
    assert seen["worker_alive"]


def test_reads_answer_again_once_redis_is_back(redis_run):
    """The first read after each restart (stale pooled connections) answers 200, and the
    worker is ready again."""
    assert redis_run["restart_first_read"] == 200
    assert redis_run["empty_first_read"] == 200
    assert redis_run["ready_after"] == 200


def test_a_read_during_a_redis_pause_answers_503_in_bounded_time(redis_run):
    """The read API's deadline (web.read_routes.READ_DEADLINE_SECONDS) answers 503."""
    status, retry_after, _took = redis_run["pause_read"]
    assert status == 503
    assert retry_after is not None


def test_ready_reports_a_redis_pause_in_bounded_time(redis_run):
    """The worker's /ready bounds its probe read (2 s)."""
    status, _retry_after, _took = redis_run["pause_ready"]
    assert status == 503
