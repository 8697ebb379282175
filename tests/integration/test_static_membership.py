"""Static membership (C360_GROUP_INSTANCE_ID) on the real broker: a worker killed with -9 and
restarted under the same id processes again; the time it took is printed, not asserted."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer

from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.topics import INTERACTIONS, INTERACTIONS_BY_PARTY
from tests.factories import voice_call
from tests.integration.stack import (
    create_topics,
    output_reader,
    start_streams_worker,
    stop_worker,
    worker_env,
)

pytestmark = pytest.mark.integration


def _publish(bootstrap: str, prefix: str, tag: str, n: int) -> set[str]:
    start = datetime.now(tz=UTC) - timedelta(minutes=1)
    events = [e for i in range(n)
              for e in voice_call(f"{tag}-{i}", tenant="static", caller=f"+4420794{i:05d}",
                                  start=start)]
    produce_all(make_producer(bootstrap), prefix + INTERACTIONS,
                [(e.interaction_id.encode(), codec.encode(e)) for e in events])
    return {e.event_id for e in events}


def _wait_for(consumer: Consumer, want: set[str], seen: set[str], deadline: float) -> bool:
    while time.monotonic() < deadline and not want <= seen:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            seen.add(codec.decode(msg.value()).event.event_id)
    return want <= seen


def test_a_worker_restarted_under_its_static_id_processes_again(
    kafka_bootstrap, redis_url, tmp_path
):
    prefix = f"m{uuid.uuid4().hex[:8]}."
    create_topics(kafka_bootstrap, prefix)
    env = worker_env(kafka_bootstrap, redis_url, prefix, "static",
                     C360_GROUP_INSTANCE_ID="worker-a")
    consumer = output_reader(kafka_bootstrap, prefix + INTERACTIONS_BY_PARTY)
    seen: set[str] = set()
    first = _publish(kafka_bootstrap, prefix, "a", 20)
    with (tmp_path / "streams-1.log").open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            assert _wait_for(consumer, first, seen, time.monotonic() + 120)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    killed = time.monotonic()
    second = _publish(kafka_bootstrap, prefix, "b", 20)
    with (tmp_path / "streams-2.log").open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            assert _wait_for(consumer, second, seen, time.monotonic() + 120)
            print(f"STATIC_MEMBERSHIP recovered {time.monotonic() - killed:.1f}s after kill -9")
        finally:
            stop_worker(worker)
            consumer.close()
