"""The CRM sink worker on the real Tansu broker with committed offsets outside the log: a
reset broker's offsets restart from the earliest record, loudly; a watermark that is merely
behind (Tansu, FACTS M3) keeps the commit."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas import codec
from schemas.records import ActivityRequested
from schemas.topics import ACTIVITIES_REQUESTED
from tests.integration.test_crm_worker import (
    DEADLINE,
    activity,
    calls,
    committed,
    crm,  # noqa: F401 - the fixture
    start_worker,
    stop_worker,
    wait_committed,
    worker_env,
)
from tests.kafka_helpers import make_producer

pytestmark = pytest.mark.integration


def _publish(bootstrap: str, topic: str, records: list[ActivityRequested]) -> list[int]:
    """On partition 0, in one flush (Tansu batches them); returns their offsets."""
    offsets: list[int] = []
    producer = make_producer(bootstrap)
    for record in records:
        producer.produce(topic, key=record.idempotency_key.encode(), value=codec.encode(record),
                         partition=0,
                         on_delivery=lambda err, msg: offsets.append(msg.offset()))
    assert producer.flush(30) == 0
    return offsets


def _commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    """What a worker of a previous broker left behind: a commit for partition 0."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "broker.address.family": "v4", "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        consumer.close()


def _high(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "c360-probe-hwm",
                         "broker.address.family": "v4"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10,
                                                  cached=False)[1])
    finally:
        consumer.close()


def _wait(check: Callable[[], bool]) -> bool:
    end = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.5)
    return True


def _events(log: Path, name: str) -> list[dict]:
    out = []
    for line in log.read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("event") == name:
            out.append(doc)
    return out


def test_offsets_beyond_the_log_restart_from_the_earliest_record(
    kafka_bootstrap, topic_prefix, crm, tmp_path  # noqa: F811
):
    """A group committed at 19,000 (an earlier broker's log) on a topic whose log ends far
    before: the worker logs offset_reset at error level and writes every activity."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    offsets = _publish(kafka_bootstrap, requested, [activity(n, tenant) for n in range(3)])
    _commit(kafka_bootstrap, group, requested, 19_000)
    log = tmp_path / "worker.log"
    proc = start_worker(worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group), log)
    try:
        # the old commit is above the target: wait for a commit below it, at the records' end
        done = _wait(lambda: max(offsets) + 1 <= committed(
            kafka_bootstrap, group, requested) < 19_000)
    finally:
        assert stop_worker(proc) == 0, log.read_text()
    assert done, log.read_text()
    mine = [c for c in calls(crm).values()
            if c["properties"]["c360_idempotency_key"].startswith(tenant + ":")]
    assert len(mine) == 3
    [reset] = _events(log, "offset_reset")
    assert (reset["level"], reset["reason"], reset["committed"]) == (
        "error", "beyond_log_end", 19_000)
    assert reset["offset_resets_total"] == 1


def test_a_commit_above_a_lagging_watermark_is_kept(
    kafka_bootstrap, topic_prefix, crm, tmp_path  # noqa: F811
):
    """Tansu reports the last batch's base offset + 1 as the high watermark: a commit in the
    middle of that batch is above it, yet the records are there. The probe finds the record
    before the commit: no reset, only the records after it are written."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    requested = topic_prefix + ACTIVITIES_REQUESTED
    offsets = _publish(kafka_bootstrap, requested, [activity(n, tenant) for n in range(10)])
    commit_at = offsets[7]  # records 7, 8, 9 remain
    high = _high(kafka_bootstrap, requested)
    if high > commit_at:
        pytest.skip(f"the broker's watermark ({high}) is right: nothing to probe")
    _commit(kafka_bootstrap, group, requested, commit_at)
    log = tmp_path / "worker.log"
    proc = start_worker(worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group), log)
    try:
        done = wait_committed(kafka_bootstrap, group, requested, offsets[-1] + 1)
    finally:
        assert stop_worker(proc) == 0, log.read_text()
    assert done == offsets[-1] + 1, log.read_text()
    keys = sorted(c["properties"]["c360_idempotency_key"] for c in calls(crm).values())
    assert keys == sorted(f"{tenant}:ix-{n}:default:call" for n in (7, 8, 9))
    assert _events(log, "offset_reset") == []
