"""The CRM sink worker as its own process on the real Tansu broker, writing to the HubSpot
emulator: retries on 429, no duplicate after a kill between write and commit, 400 -> DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from connectors.crm.errors import CrmUnavailable
from connectors.crm.worker import run
from connectors.crm.worker_settings import WorkerSettings
from schemas import codec
from schemas.records import ActivityRequested, ActivityResult, DeadLetter
from schemas.topics import ACTIVITIES_REQUESTED, ACTIVITIES_RESULTS, DLQ
from tests.emulators.base import Fault
from tests.emulators.hubspot import HubSpotEmulator
from tests.kafka_helpers import make_producer
from tests.unit.crm_worker.fakes import FakeCrmAdapter

pytestmark = pytest.mark.integration
CREATE_CALL = {"method": "POST", "path": r"/crm/v3/objects/calls$"}  # aims a fault at the write
DEADLINE = 60.0


class EmulatorThread:
    """The HubSpot emulator served from a background event loop (the worker is another
    process, so the CRM's state must outlive it)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.crm = HubSpotEmulator()

    def __enter__(self) -> HubSpotEmulator:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.crm.start(), self.loop).result(10)
        return self.crm

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.crm.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def crm() -> Iterator[HubSpotEmulator]:
    with EmulatorThread() as emulator:
        yield emulator


def worker_env(kafka_bootstrap, topic_prefix, crm, data_dir: Path, group: str, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_")}
    env.update({
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "C360_TOPIC_PREFIX": topic_prefix,
        "C360_CRM_GROUP_ID": group,
        "C360_DATA_DIR": str(data_dir),
        "C360_CRM_DEFAULT": "hubspot",
        "C360_CRM_HUBSPOT_BASE_URL": crm.url,
        "C360_CRM_HUBSPOT_TOKEN": crm.issue_token(),
        "C360_CRM_RETRY_INITIAL_SECONDS": "0.2",
        "C360_CRM_RETRY_MAX_SECONDS": "2",
        # a killed member is given up on quickly, so the restarted one gets the partitions
        "C360_CRM_SESSION_TIMEOUT_MS": "6000",
        "C360_CRM_MAX_POLL_INTERVAL_MS": "10000",
        "C360_LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "connectors.crm.worker"], env=env,
                            stdout=out, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(5)


def activity(n: int, tenant: str, **changes) -> ActivityRequested:
    base = ActivityRequested(
        event_id=str(uuid.uuid4()), tenant_id=tenant,
        occurred_at=datetime.now(tz=UTC), interaction_id=f"ix-{n}",
        idempotency_key=f"{tenant}:ix-{n}:default:call", kind="call", revision=1,
        subject=f"Call {n}", body="Customer renewed.", agent_id="agent-1",
        channel="voice", direction="inbound", started_at=datetime.now(tz=UTC),
        duration_seconds=95, disposition_code="SALE",
    )
    return replace(base, **changes)


def publish(bootstrap: str, topic: str, records: list[ActivityRequested]) -> None:
    """All on partition 0, in order: the pause/DLQ cases are about one partition."""
    producer = make_producer(bootstrap)
    for record in records:
        producer.produce(topic, key=record.idempotency_key.encode(),
                         value=codec.encode(record), partition=0)
    assert producer.flush(30) == 0


def read_all(bootstrap: str, topic: str, predicate, timeout: float = DEADLINE) -> list:
    """Decoded records of `topic` from offset 0 until predicate(records) holds."""
    from tests.kafka_helpers import consume_until  # noqa: PLC0415

    seen = consume_until(bootstrap, topic, lambda rs: predicate([codec.decode(r.value)
                                                                  for r in rs]), timeout)
    return [codec.decode(r.value) for r in seen]


def committed(bootstrap: str, group: str, topic: str, partition: int = 0) -> int:
    """The group's committed offset on one partition (-1001 = none yet)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "broker.address.family": "v4", "enable.auto.commit": False})
    try:
        (tp,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return int(tp.offset)
    finally:
        consumer.close()


def wait_committed(bootstrap: str, group: str, topic: str, offset: int) -> int:
    end = time.monotonic() + DEADLINE
    seen = committed(bootstrap, group, topic)
    while seen < offset and time.monotonic() < end:
        time.sleep(0.5)
        seen = committed(bootstrap, group, topic)
    return seen


def calls(crm: HubSpotEmulator) -> dict[str, dict]:
    return dict(crm.table("calls"))


def test_a_crm_answering_429_then_200_gets_exactly_one_activity(
    kafka_bootstrap, topic_prefix, crm, tmp_path
):
    """The create is rate-limited once: the partition pauses, retries, and one call exists."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    crm.fail_next(replace(crm.rate_limited(1), **CREATE_CALL))  # the create itself gets 429
    publish(kafka_bootstrap, requested, [activity(1, tenant)])
    proc = start_worker(worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group),
                        tmp_path / "worker.log")
    try:
        results = read_all(kafka_bootstrap, topic_prefix + ACTIVITIES_RESULTS,
                           lambda rs: any(isinstance(r, ActivityResult) for r in rs))
        assert wait_committed(kafka_bootstrap, group, requested, 1) == 1
    finally:
        assert stop_worker(proc) == 0, (tmp_path / "worker.log").read_text()
    assert crm.faults == []  # the 429 was served
    assert [r.status for r in results] == ["created"]
    assert len(calls(crm)) == 1
    (call,) = calls(crm).values()
    assert call["properties"]["c360_idempotency_key"] == f"{tenant}:ix-1:default:call"
    assert results[0].crm_activity_id == call["id"]
    log = (tmp_path / "worker.log").read_text()
    assert "crm_unavailable_retrying" in log


def test_a_worker_killed_after_the_write_before_the_commit_makes_no_duplicate(
    kafka_bootstrap, topic_prefix, crm, tmp_path
):
    """Exit 137 right after the CRM accepted: nothing committed; the restarted worker finds
    the activity by its idempotency key, updates it, and commits."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    publish(kafka_bootstrap, requested, [activity(1, tenant)])
    env = worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group)
    crashing = start_worker({**env, "C360_CRM_TEST_CRASH_AFTER_WRITE": "1"},
                            tmp_path / "worker.log")
    try:
        assert crashing.wait(DEADLINE) == 137
    finally:
        stop_worker(crashing)
    assert len(calls(crm)) == 1
    assert committed(kafka_bootstrap, group, requested) < 1  # the write was never committed
    restarted = start_worker(env, tmp_path / "worker.log")
    try:
        results = read_all(kafka_bootstrap, topic_prefix + ACTIVITIES_RESULTS,
                           lambda rs: any(isinstance(r, ActivityResult) for r in rs))
        assert wait_committed(kafka_bootstrap, group, requested, 1) == 1
    finally:
        assert stop_worker(restarted) == 0, (tmp_path / "worker.log").read_text()
    assert len(calls(crm)) == 1
    (call,) = calls(crm).values()
    assert [(r.status, r.crm_activity_id) for r in results] == [("updated", call["id"])]


def test_a_400_goes_to_the_dlq_and_the_next_activity_still_flows(
    kafka_bootstrap, topic_prefix, crm, tmp_path
):
    """Permanent 4xx: dead-lettered with the vendor's excerpt, committed; the next record
    on the same partition is written."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    crm.fail_next(Fault(400, "Property values were not valid: hs_call_body too long",
                        **CREATE_CALL))
    bad, good = activity(1, tenant), activity(2, tenant)
    publish(kafka_bootstrap, requested, [bad, good])
    proc = start_worker(worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group),
                        tmp_path / "worker.log")
    try:
        results = read_all(kafka_bootstrap, topic_prefix + ACTIVITIES_RESULTS,
                           lambda rs: len([r for r in rs if r.tenant_id == tenant]) >= 2)
        letters = read_all(kafka_bootstrap, topic_prefix + DLQ,
                           lambda rs: any(isinstance(r, DeadLetter) for r in rs))
        assert wait_committed(kafka_bootstrap, group, requested, 2) == 2
    finally:
        assert stop_worker(proc) == 0, (tmp_path / "worker.log").read_text()
    assert {(r.interaction_id, r.status) for r in results} == {("ix-1", "rejected"),
                                                               ("ix-2", "created")}
    (letter,) = letters
    assert letter.original_value == codec.encode(bad)
    assert (letter.topic, letter.partition, letter.offset) == (requested, 0, 0)
    assert letter.stage == "crm_sink"
    assert "400" in letter.error_message
    assert "hs_call_body too long" in letter.error_message
    assert [c["properties"]["c360_idempotency_key"] for c in calls(crm).values()] == [
        good.idempotency_key]


_SHARED: dict[str, FakeCrmAdapter] = {}


@contextlib.asynccontextmanager
async def shared_fake(_names, _env):
    """C360_CRM_ADAPTER_FACTORY target: the test's fake CRM (logic double; the broker,
    consumer group, pause/seek/resume and commits are real)."""
    yield {"hubspot": _SHARED["crm"]}


def test_a_paused_partition_does_not_hold_the_others(kafka_bootstrap, topic_prefix, tmp_path):
    """ix-slow (partition 0) gets 503 until ix-fast (partition 1) has been written: only a
    worker that keeps the other partitions flowing while one is paused can finish. ix-slow
    then lands once, and both offsets are committed."""
    crm = _SHARED["crm"] = FakeCrmAdapter()
    crm.failing["ix-slow"] = [CrmUnavailable("503", crm="hubspot", status=503)]
    crm.blocked_until["ix-slow"] = "ix-fast"
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    producer = make_producer(kafka_bootstrap)
    for partition, name in ((0, "slow"), (1, "fast")):
        record = activity(0, tenant, interaction_id=f"ix-{name}",
                          idempotency_key=f"{tenant}:ix-{name}:default:call")
        producer.produce(requested, value=codec.encode(record), partition=partition)
    assert producer.flush(30) == 0
    env = {"C360_CRM_ADAPTER_FACTORY": f"{__name__}:shared_fake"}
    settings = WorkerSettings.from_env({
        "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "C360_TOPIC_PREFIX": topic_prefix,
        "C360_CRM_GROUP_ID": group, "C360_CRM_DEFAULT": "hubspot", "C360_CRM_LEDGER": "memory",
        "C360_CRM_RETRY_INITIAL_SECONDS": "0.5", "C360_CRM_RETRY_MAX_SECONDS": "1",
    })

    async def scenario() -> int:
        stop = asyncio.Event()
        worker = asyncio.create_task(run(settings, env, stop))
        end = time.monotonic() + DEADLINE
        while len(crm.order) < 2 and time.monotonic() < end and not worker.done():
            await asyncio.sleep(0.2)
        stop.set()
        return await worker

    assert asyncio.run(scenario()) == 0
    assert crm.order == ["ix-fast", "ix-slow"]
    assert crm.failing["ix-slow"] == []
    assert len(crm.activities) == 2
    assert committed(kafka_bootstrap, group, requested, 0) == 1
    assert committed(kafka_bootstrap, group, requested, 1) == 1
