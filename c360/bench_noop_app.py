"""The benches' baseline: a Faust app with streams/app.py's settings whose agent does nothing."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import faust

BOOTSTRAP = os.environ.get("C360_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
TOPIC = os.environ.get("C360_BENCH_TOPIC", "c360.interactions.v1")
EXPECT = int(os.environ.get("C360_BENCH_EXPECT", "0"))


def _faust_settings() -> dict[str, Any]:
    """streams/app.py's Faust settings (keep them in step), so the only difference the
    bench measures is the work the c360 agents do per event. With streams/transport.py
    (short consumer fetch wait) the worker runs the newer settings, else the earlier ones."""
    common: dict[str, Any] = {
        "store": "memory://",
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "topic_replication_factor": 1,
        "consumer_auto_offset_reset": "earliest",
        "autodiscover": False,
        "web_enabled": True,
    }
    hosts = BOOTSTRAP.split(",")
    try:
        from infra.logs import dict_config  # noqa: PLC0415
        from streams import transport  # noqa: PLC0415 - optional: the newer worker's driver
        from streams.kafka_credentials import broker_credentials  # noqa: PLC0415
        from streams.settings import StreamSettings  # noqa: PLC0415
    except ImportError:
        return {
            **common,
            "broker": [f"kafka://{h}" for h in hosts],
            "broker_commit_interval": 1.0,
            "broker_max_poll_records": 500,
            "stream_wait_empty": True,
        }
    settings = StreamSettings.from_env({"C360_ENV": "dev", **os.environ})
    transport.register()
    transport.set_fetch_max_wait_ms(getattr(settings, "consumer_fetch_max_wait_ms", 5))
    session = getattr(settings, "session_timeout_seconds", 10)
    return {
        **common,
        "broker": [f"{transport.SCHEME}://{h}" for h in hosts],
        "broker_credentials": broker_credentials(settings),
        "broker_commit_interval": 0.5,
        "broker_max_poll_records": getattr(settings, "batch_max_events", 500),
        "broker_session_timeout": session,
        "broker_heartbeat_interval": max(1, session // 4),
        "stream_wait_empty": False,
        "producer_linger": 0.001,  # the no-op app produces nothing; kept for parity
        "consumer_group_instance_id": getattr(settings, "group_instance_id", "") or None,
        "web_bind": getattr(settings, "worker_web_bind", "127.0.0.1"),
        "logging_config": dict_config(settings.log_format, settings.log_level),
        "worker_redirect_stdouts": False,
    }


app = faust.App(os.environ.get("C360_BENCH_APP_ID", "c360-bench-noop"), **_faust_settings())
topic = app.topic(
    TOPIC, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)


def _mark(name: str, count: int) -> None:
    # One JSON line on stdout (the bench reads it from the log): wall-clock time stamps.
    print(json.dumps({"c360_bench_noop": name, "t": time.time(), "count": count}), flush=True)


@app.agent(topic)
async def noop(stream: Any) -> None:
    """Consume every event and do nothing (a counter marks the first and the last)."""
    count = 0
    async for _ in stream.events():
        count += 1
        if count == 1:
            _mark("first", count)
        if count == EXPECT:
            _mark("done", count)
