"""A Redis outage stalls the projector in place; nothing is acked-and-lost."""

from __future__ import annotations

import os
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from c360.localstack import start_redis
from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.topics import INTERACTIONS
from tests.factories import voice_call
from tests.integration.stack import running_stack
from tests.integration.test_pipeline import _wait_timeline

pytestmark = pytest.mark.integration


def test_events_published_during_a_redis_outage_appear_once_it_is_back(
    kafka_bootstrap, tmp_path
):
    """Freeze our own redis-server, publish a call, thaw it: the call is projected."""
    redis_child, redis_url = start_redis(tmp_path, tmp_path / "redis.log")
    try:
        with running_stack(kafka_bootstrap, redis_url, tmp_path) as stack:
            tenant = f"t{uuid.uuid4().hex[:6]}"
            start = datetime.now(tz=UTC) - timedelta(minutes=20)
            warm = voice_call("ix-warm", tenant=tenant, start=start, caller="+442079460123")
            produce_all(make_producer(kafka_bootstrap), stack["prefix"] + INTERACTIONS,
                        [(e.interaction_id.encode(), codec.encode(e)) for e in warm])
            doc = _wait_timeline(stack, "+442079460123", tenant, lambda d: d["items"])
            assert doc["items"]
            os.kill(redis_child.popen.pid, signal.SIGSTOP)  # outage: connections hang
            try:
                call = voice_call("ix-out", tenant=tenant, start=start + timedelta(minutes=5),
                                  caller="+442079460123")
                produce_all(make_producer(kafka_bootstrap), stack["prefix"] + INTERACTIONS,
                            [(e.interaction_id.encode(), codec.encode(e)) for e in call])
                # Long enough for several socket timeouts (5 s) and retries in the agents.
                time.sleep(12)
            finally:
                os.kill(redis_child.popen.pid, signal.SIGCONT)
            doc = _wait_timeline(stack, "+442079460123", tenant,
                                 lambda d: len(d["items"]) == 2
                                 and all(i["disposition"] for i in d["items"]))
            assert sorted(i["interaction_id"] for i in doc["items"]) == ["ix-out", "ix-warm"]
            log = (tmp_path / "streams.log").read_text(errors="replace")
            assert "store_unavailable_retrying" in log
            assert "+442079460123" not in log and "2079460123" not in log
    finally:
        redis_child.stop(5)
