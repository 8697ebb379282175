"""A broker restart under a running streams worker: /ready tells, the pipeline resumes."""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from c360.localstack import start_tansu, tansu_bootstrap
from c360.procs import free_port
from schemas.topics import DLQ, INTERACTIONS, INTERACTIONS_BY_PARTY
from tests.faults.harness import Calls, IdCounter, Stack, TopicReader, figure, publish

pytestmark = [pytest.mark.integration, pytest.mark.faults]

BEFORE_CALLS = 600  # a backlog the worker is still working through when the broker goes
AFTER_CALLS = 60  # fewer than before: the new partitions never reach the old offsets
RESUME_SECONDS = 60.0  # liveness bound: the worker processes new events after the restart
DOWN_SECONDS = 8.0  # the broker is away this long
PAUSE_SECONDS = 10.0  # ... and frozen this long
READY_SECONDS = 15.0  # liveness bound: /ready tells the outage (its probe waits 2 s)


def _ready_until(stack: Stack, want: int, seconds: float) -> tuple[int, float]:
    """Poll the worker's /ready until it answers `want` (or the bound); (last status, s)."""
    began = time.monotonic()
    status = stack.ready()[0]
    while status != want and time.monotonic() - began < seconds:
        time.sleep(0.5)
        status = stack.ready()[0]
    return status, time.monotonic() - began


def _committed_beyond_end(bootstrap: str, stack: Stack) -> list[str]:
    """Partitions of the interactions topic whose committed offset (the worker's group) is
    past the partition's end, as 'p<n>: <committed> > <end>'. The end is counted by reading
    the partition (Tansu's high watermark is wrong, FACTS M3)."""
    topic = stack.topic(INTERACTIONS)
    reader = TopicReader(bootstrap, topic)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": stack.env["C360_APP_ID"],
                         "enable.auto.commit": False, "broker.address.family": "v4"})
    try:
        while reader.poll(1):
            pass
        ends: dict[int, int] = {}
        for partition, offset, _value in reader.records:
            ends[partition] = max(ends.get(partition, 0), offset + 1)
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return [f"p{tp.partition}: {tp.offset} > {ends.get(tp.partition, 0)}"
                for tp in committed if tp.offset > ends.get(tp.partition, 0)]
    finally:
        reader.close()
        consumer.close()


@pytest.fixture(scope="module")
def broker_run(redis_url, tmp_path_factory) -> dict[str, Any]:
    """Own Tansu (memory storage) on a fixed port, a worker running: Tansu frozen mid-backlog
    then thawed; later stopped mid-backlog and a new one started on the same port (empty:
    topics created again); events after. Returns what was observed."""
    tmp_path = tmp_path_factory.mktemp("broker-restart")
    port = free_port()
    tansu = start_tansu(tmp_path / "tansu-1.log", port=port)
    bootstrap = tansu_bootstrap(tansu)
    stack = Stack(bootstrap, redis_url, tmp_path)
    paused = Calls(f"p{uuid.uuid4().hex[:6]}", BEFORE_CALLS)
    before = Calls(f"b{uuid.uuid4().hex[:6]}", BEFORE_CALLS)
    after = Calls(f"a{uuid.uuid4().hex[:6]}", AFTER_CALLS)
    seen: dict[str, Any] = {}
    try:
        stack.create_topics()
        stack.start_worker()

        # 1. Broker paused (SIGSTOP) mid-backlog: outputs cannot be acknowledged; they are
        # retried in place, never dead-lettered, and every input is processed after.
        events = paused.events()
        publish(bootstrap, stack.topic(INTERACTIONS), events)
        reader = TopicReader(bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
        ids = IdCounter(reader, {e.event_id for e in events})
        try:
            seen["pause_progress"] = ids.wait(len(events) // 4)
            os.kill(tansu.pid, signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                seen["ready_paused"], took = _ready_until(stack, 503, READY_SECONDS)
                time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - frozen)))
            finally:
                os.kill(tansu.pid, signal.SIGCONT)
            thawed = time.monotonic()
            seen["pause_caught_up"] = ids.wait(len(events))
            seen["pause_missing"] = len({e.event_id for e in events} - ids.distinct)
            figure("broker_pause", events=len(events), pause_s=round(thawed - frozen, 1),
                   ready_paused=seen["ready_paused"], ready_told_s=round(took, 1),
                   missing=seen["pause_missing"],
                   caught_up_after_thaw_s=round(time.monotonic() - thawed, 1),
                   output_retries_logged=stack.worker_log().count(
                       "broker_unavailable_retrying"))
        finally:
            reader.close()

        # 2. Broker restart mid-backlog: a new, empty Tansu on the same port.
        events = before.events()
        publish(bootstrap, stack.topic(INTERACTIONS), events)
        reader = TopicReader(bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
        ids = IdCounter(reader, {e.event_id for e in events})
        try:
            # Mid-stream: the broker goes while the worker is working through the backlog.
            seen["before_processed"] = ids.wait(len(events) // 4)
            seen["ready_before"] = stack.ready()[0]
            ids.refresh()
            seen["before_at_stop"] = len(ids.distinct)
        finally:
            reader.close()

        tansu.stop(5)
        stopped = time.monotonic()
        seen["ready_during"], took = _ready_until(stack, 503, READY_SECONDS)
        time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - stopped)))
        tansu = start_tansu(tmp_path / "tansu-2.log", port=port)
        stack.create_topics()
        restarted = time.monotonic()
        figure("broker_restart", before=len(before.events()),
               before_processed_at_stop=seen["before_at_stop"],
               down_s=round(restarted - stopped, 1),
               ready_during=seen["ready_during"], ready_told_s=round(took, 1))

        # 3. New events on the new broker.
        events = after.events()
        publish(bootstrap, stack.topic(INTERACTIONS), events)
        reader = TopicReader(bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
        ids = IdCounter(reader, {e.event_id for e in events})
        try:
            seen["after_processed"] = ids.wait(len(events), RESUME_SECONDS)
            seen["after_missing"] = len({e.event_id for e in events} - ids.distinct)
        finally:
            reader.close()
        figure("broker_restart", resumed=seen["after_processed"],
               missing_after=seen["after_missing"], of=len(events),
               resumed_after_restart_s=round(time.monotonic() - restarted, 1))
        seen["ready_after"], took = _ready_until(stack, 200, READY_SECONDS)
        figure("broker_restart", ready_after=seen["ready_after"], ready_again_s=round(took, 1))
        time.sleep(2)  # a commit interval: what the group committed on the new broker
        seen["beyond_end"] = _committed_beyond_end(bootstrap, stack)

        # A worker restarted now starts from what the group committed on the new broker.
        assert stack.worker is not None
        seen["worker_alive"] = stack.worker.alive()
        stack.worker.stop(20)
        stack.start_worker()
        third = Calls(f"c{uuid.uuid4().hex[:6]}", AFTER_CALLS)
        events = third.events()
        publish(bootstrap, stack.topic(INTERACTIONS), events)
        reader = TopicReader(bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
        ids = IdCounter(reader, {e.event_id for e in events})
        again = time.monotonic()
        try:
            seen["after_worker_restart_processed"] = ids.wait(len(events), RESUME_SECONDS)
        finally:
            reader.close()
        figure("broker_restart", committed_beyond_end=seen["beyond_end"],
               after_worker_restart_processed=seen["after_worker_restart_processed"],
               after_worker_restart_s=round(time.monotonic() - again, 1))
        letters = TopicReader(bootstrap, stack.topic(DLQ))
        letters.poll(2)
        letters.close()
        seen["dead_letters"] = letters.decoded()
        figure("broker_restart", dead_letters=len(seen["dead_letters"]),
               output_retries_logged=stack.worker_log().count("broker_unavailable_retrying"))
        return seen
    finally:
        stack.stop()
        tansu.stop(5)


def test_a_broker_pause_mid_stream_loses_nothing(broker_run):
    """Frozen broker: /ready says so; every event of the backlog is processed after the
    thaw (outputs retried in place, not dead-lettered)."""
    assert broker_run["pause_progress"]
    assert broker_run["ready_paused"] == 503
    assert broker_run["pause_caught_up"], f"{broker_run['pause_missing']} events lost"
    assert broker_run["dead_letters"] == []


def test_ready_reports_the_broker_outage_and_recovers(broker_run):
    """Mid-stream before: ready; broker down: 503 within the bound; broker back: ready again."""
    assert broker_run["before_processed"]
    assert broker_run["ready_before"] == 200
    assert broker_run["ready_during"] == 503
    assert broker_run["ready_after"] == 200
    assert broker_run["worker_alive"]


def test_the_pipeline_resumes_after_a_broker_restart(broker_run):
    """Events published after the restart all get their by-party records; the group's
    committed offsets on the new broker stay within its partitions (the issue's hang:
    old offsets committed into the empty topics); a worker restarted afterwards processes
    new events; no dead letter was written for the outage."""
    assert broker_run["after_processed"], f"{broker_run['after_missing']} events stuck"
    assert broker_run["beyond_end"] == []
    assert broker_run["after_worker_restart_processed"]
    assert broker_run["dead_letters"] == []
