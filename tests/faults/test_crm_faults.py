"""CRM sink faults against the HubSpot emulator: kill -9 mid-stream, a 503/429 outage."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from c360.procs import Child, spawn
from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.records import ActivityResult
from schemas.topics import ACTIVITIES_REQUESTED, ACTIVITIES_RESULTS, DLQ
from tests.emulators.hubspot import HubSpotEmulator
from tests.faults.harness import DEADLINE, TopicReader, figure
from tests.integration.stack import ROOT
from tests.integration.test_crm_worker import activity, worker_env

pytestmark = [pytest.mark.integration, pytest.mark.faults]


class FlakyHubSpot(HubSpotEmulator):
    """HubSpot that answers every API call with 503 or 429 while `down_until` is ahead;
    every third write in that window is applied and still answered 503 (the answer lost,
    not the write), so only an idempotent retry avoids a duplicate."""

    down_until = 0.0
    refused = 0
    lost_answers = 0

    @web.middleware
    async def _middleware(self, request: web.Request, handler):  # type: ignore[override]
        if request.path not in self.token_paths and time.monotonic() < self.down_until:
            self.refused += 1
            if request.method == self.write_method and self.refused % 3 == 0:
                await super()._middleware(request, handler)
                self.lost_answers += 1
                return self.error(503, "Service Unavailable")
            if self.refused % 2:
                return self.error(503, "Service Unavailable")
            fault = self.rate_limited(1)
            response = self.error(429, fault.message)
            response.headers.update(fault.headers)
            return response
        return await super()._middleware(request, handler)


@pytest.fixture
def crm() -> Iterator[FlakyHubSpot]:
    """The emulator in a background loop: its state outlives the worker processes."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    emulator = FlakyHubSpot()
    asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(10)
    try:
        yield emulator
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _start(env: dict[str, str], log: Path) -> Child:
    return spawn("crm-sink", [sys.executable, "-m", "connectors.crm.worker"], log,
                 env=env, cwd=ROOT)


def _publish(bootstrap: str, topic: str, tenant: str, count: int) -> set[str]:
    """`count` activities keyed by idempotency key (spread over the partitions)."""
    records = [activity(n, tenant) for n in range(count)]
    produce_all(make_producer(bootstrap), topic,
                [(r.idempotency_key.encode(), codec.encode(r)) for r in records])
    return {r.idempotency_key for r in records}


def _keys_at_crm(crm: HubSpotEmulator) -> Counter[str]:
    return Counter(c["properties"]["c360_idempotency_key"]
                   for c in list(crm.table("calls").values()))


def _wait(predicate, deadline: float = DEADLINE) -> bool:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def _results(reader: TopicReader) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for record in reader.decoded():
        if isinstance(record, ActivityResult):
            out.setdefault(record.idempotency_key, []).append(record.status)
    return out


def _no_dead_letters(bootstrap: str, prefix: str) -> list:
    letters = TopicReader(bootstrap, prefix + DLQ)
    try:
        letters.poll(2)
        return letters.decoded()
    finally:
        letters.close()


KILL_ACTIVITIES = 400


def test_kill_9_of_a_crm_sink_mid_stream_writes_each_activity_once(
    kafka_bootstrap, topic_prefix, crm, tmp_path
):
    """Kill -9 the sink twice while it works through a backlog; after restarts each
    activity exists once at the CRM and every one has a result."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    keys = _publish(kafka_bootstrap, topic_prefix + ACTIVITIES_REQUESTED, tenant,
                    KILL_ACTIVITIES)
    env = worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group)
    log = tmp_path / "crm-worker.log"
    worker = _start(env, log)
    try:
        for n, fraction in enumerate((0.25, 0.6), 1):
            assert _wait(lambda f=fraction: len(_keys_at_crm(crm)) >= KILL_ACTIVITIES * f), (
                f"no progress before kill {n}\n{worker.log_tail()}")
            assert len(_keys_at_crm(crm)) < KILL_ACTIVITIES, "backlog done before the kill"
            os.killpg(worker.pid, signal.SIGKILL)
            worker.popen.wait(10)
            killed_at, at_kill = time.monotonic(), len(_keys_at_crm(crm))
            worker = _start(env, log)
            assert _wait(lambda k=at_kill: len(_keys_at_crm(crm)) > min(k, KILL_ACTIVITIES - 1)), (
                f"no progress after kill {n}\n{worker.log_tail()}")
            figure("crm_kill", kill=n, at_crm_at_kill=at_kill,
                   recovery_s=round(time.monotonic() - killed_at, 1))
        assert _wait(lambda: len(_keys_at_crm(crm)) >= KILL_ACTIVITIES)
        reader = TopicReader(kafka_bootstrap, topic_prefix + ACTIVITIES_RESULTS)
        try:
            assert reader.until(lambda: len(_results(reader)) >= KILL_ACTIVITIES)
        finally:
            reader.close()
    finally:
        worker.stop(20)
    at_crm = _keys_at_crm(crm)
    assert set(at_crm) == keys
    assert [k for k, c in at_crm.items() if c > 1] == []
    results = _results(reader)
    assert set(results) == keys
    assert _no_dead_letters(kafka_bootstrap, topic_prefix) == []
    figure("crm_kill", activities=KILL_ACTIVITIES, kills=2, at_crm=sum(at_crm.values()),
           duplicates_at_crm=0, results=sum(len(v) for v in results.values()),
           statuses=dict(Counter(s for v in results.values() for s in v)), dead_letters=0)


OUTAGE_ACTIVITIES = 200
OUTAGE_SECONDS = 10.0


def test_a_crm_outage_delivers_every_activity_once_after(
    kafka_bootstrap, topic_prefix, crm, tmp_path
):
    """Once a quarter is written, HubSpot answers 503/429 for 10 s (and loses some write
    answers); afterwards every activity is there once and none was dead-lettered."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    keys = _publish(kafka_bootstrap, topic_prefix + ACTIVITIES_REQUESTED, tenant,
                    OUTAGE_ACTIVITIES)
    env = worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group)
    log = tmp_path / "crm-worker.log"
    worker = _start(env, log)
    try:
        assert _wait(lambda: len(_keys_at_crm(crm)) >= OUTAGE_ACTIVITIES // 4), (
            worker.log_tail())
        crm.down_until = time.monotonic() + OUTAGE_SECONDS
        at_outage = len(_keys_at_crm(crm))
        _wait(lambda: time.monotonic() > crm.down_until, OUTAGE_SECONDS + 1)
        back = time.monotonic()
        assert _wait(lambda: len(_keys_at_crm(crm)) >= OUTAGE_ACTIVITIES), worker.log_tail()
        drained = time.monotonic() - back
        reader = TopicReader(kafka_bootstrap, topic_prefix + ACTIVITIES_RESULTS)
        try:
            assert reader.until(lambda: len(_results(reader)) >= OUTAGE_ACTIVITIES)
        finally:
            reader.close()
    finally:
        worker.stop(20)
    assert crm.refused > 0 and crm.lost_answers > 0, "the outage never met a request"
    at_crm = _keys_at_crm(crm)
    assert set(at_crm) == keys
    assert [k for k, c in at_crm.items() if c > 1] == []
    assert set(_results(reader)) == keys
    assert _no_dead_letters(kafka_bootstrap, topic_prefix) == []
    assert "crm_unavailable_retrying" in log.read_text(errors="replace")
    figure("crm_outage", activities=OUTAGE_ACTIVITIES, outage_s=OUTAGE_SECONDS,
           at_crm_at_outage=at_outage, refused_requests=crm.refused,
           writes_with_lost_answer=crm.lost_answers, duplicates_at_crm=0, dead_letters=0,
           drained_after_outage_s=round(drained, 1))
