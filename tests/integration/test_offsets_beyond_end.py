"""A streams worker whose group committed offsets past the log's end (a reset broker, a
truncated log) restarts those partitions from the earliest record instead of stalling."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Consumer, TopicPartition

from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.topics import CATALOGUE, INTERACTIONS, INTERACTIONS_BY_PARTY
from tests.factories import voice_call
from tests.integration.stack import (
    create_topics,
    output_reader,
    start_streams_worker,
    stop_worker,
    worker_env,
)

pytestmark = pytest.mark.integration


def test_offsets_committed_past_the_end_are_reset_and_events_flow(
    kafka_bootstrap, redis_url, tmp_path
):
    prefix = f"o{uuid.uuid4().hex[:8]}."
    create_topics(kafka_bootstrap, prefix)
    app_id = f"c360-offsets-{prefix[:-1]}"
    topic = prefix + INTERACTIONS
    partitions = next(spec.partitions for spec in CATALOGUE if spec.name == INTERACTIONS)
    # What a worker left behind on a broker that lost its log: offsets near 19,000.
    committer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": app_id,
                          "enable.auto.commit": False, "broker.address.family": "v4"})
    committer.commit(offsets=[TopicPartition(topic, p, 19_000) for p in range(partitions)],
                     asynchronous=False)
    committer.close()
    start = datetime.now(tz=UTC) - timedelta(minutes=1)
    events = [e for i in range(10)
              for e in voice_call(f"ix-{i}", tenant="offsets", caller=f"+4420794{i:05d}",
                                  start=start)]
    produce_all(make_producer(kafka_bootstrap), topic,
                [(e.interaction_id.encode(), codec.encode(e)) for e in events])
    env = worker_env(kafka_bootstrap, redis_url, prefix, "offsets",
                     C360_APP_ID=app_id, C360_OFFSET_CHECK_SECONDS="2")
    consumer = output_reader(kafka_bootstrap, prefix + INTERACTIONS_BY_PARTY)
    seen: set[str] = set()
    want = {e.event_id for e in events}
    log_path = tmp_path / "streams.log"
    with log_path.open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline and not want <= seen:
                msg = consumer.poll(0.5)
                if msg is not None and not msg.error():
                    seen.add(codec.decode(msg.value()).event.event_id)
        finally:
            stop_worker(worker)
            consumer.close()
    assert want <= seen, "events behind offsets committed past the end were never processed"
    assert '"offset_reset"' in log_path.read_text(errors="replace")
