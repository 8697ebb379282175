"""SIGTERM with a backlog: the streams worker stops within 10 s and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
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

CALLS = 4_000  # x5 events, ringing now (pops rendered): a backlog of several seconds


def _by_party_ids(consumer: Consumer, seen: set[str], until: float, want: int) -> None:
    while time.monotonic() < until and len(seen) < want:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        seen.add(codec.decode(msg.value()).event.event_id)


def test_sigterm_with_a_backlog_stops_in_time_and_commits_only_processed(
    kafka_bootstrap, redis_url, tmp_path
):
    prefix = f"s{uuid.uuid4().hex[:8]}."
    create_topics(kafka_bootstrap, prefix)
    # Rings seconds old: rendered as live pops (an hour-old ring of an ended call is only
    # recorded, and would make the backlog too quick to interrupt).
    start = datetime.now(tz=UTC) - timedelta(seconds=20)
    events = [e for n in range(CALLS)
              for e in voice_call(f"ix-{n}", tenant="shut", caller=f"+4420794{n:05d}",
                                  start=start + timedelta(milliseconds=n))]
    produce_all(make_producer(kafka_bootstrap), prefix + INTERACTIONS,
                [(e.interaction_id.encode(), codec.encode(e)) for e in events])
    # Small batches keep a backlog queued in the worker when the signal arrives.
    env = worker_env(kafka_bootstrap, redis_url, prefix, "shut", C360_BATCH_MAX_EVENTS="50")
    # Read by assignment: a group join on the dev broker can take longer than the whole
    # backlog, and the signal must follow the worker's first output closely.
    consumer = output_reader(kafka_bootstrap, prefix + INTERACTIONS_BY_PARTY)
    seen: set[str] = set()
    with (tmp_path / "streams-1.log").open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            # Wait until it is working through the backlog, then stop it mid-way.
            _by_party_ids(consumer, seen, time.monotonic() + 120, 1)
            assert seen, "the worker never started processing"
            os.killpg(worker.pid, signal.SIGTERM)
            sent = time.monotonic()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                pytest.fail("the streams worker did not stop within 10 s of SIGTERM")
            assert time.monotonic() - sent <= 10
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    _by_party_ids(consumer, seen, time.monotonic() + 5, len(events))
    assert len(seen) < len(events), "the backlog was gone before the signal: not a real test"
    with (tmp_path / "streams-2.log").open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            # The replacement resumes from the committed offsets: if the first worker had
            # committed anything it had not processed, those events would never appear.
            _by_party_ids(consumer, seen, time.monotonic() + 240, len(events))
        finally:
            stop_worker(worker)
            consumer.close()
    assert seen == {e.event_id for e in events}
