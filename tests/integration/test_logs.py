"""One log pipeline: a streams worker's and a web service's output are JSON records with
their real level and logger name; librdkafka's lines are structured and rate-limited."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.kafka_producer import make_producer, produce_all
from schemas.topics import DLQ, INTERACTIONS
from tests.integration.stack import output_reader, running_stack

pytestmark = pytest.mark.integration


def _records(path: Path) -> list[dict]:
    """Every line of a process's output as a record: a line that is not JSON fails."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"{path.name}: not a JSON record: {line!r}")
    return records


def _wait_for(path: Path, text: str, deadline: float) -> None:
    while text not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never appeared in {path.name}"
        time.sleep(0.3)


def test_the_worker_and_the_web_service_log_json_records_with_their_real_level(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    with running_stack(kafka_bootstrap, redis_url, tmp_path) as stack:
        prefix = str(stack["prefix"])
        streams_log = tmp_path / "streams.log"
        _wait_for(streams_log, "Worker]: Ready", time.monotonic() + 90)
        # An undecodable record: the worker dead-letters it and logs a warning of its own.
        produce_all(make_producer(kafka_bootstrap), prefix + INTERACTIONS, [(b"k", b"\x00junk")])
        dlq = output_reader(kafka_bootstrap, prefix + DLQ)
        try:
            deadline = time.monotonic() + 60
            while dlq.poll(0.5) is None:
                assert time.monotonic() < deadline, "the junk record was never dead-lettered"
        finally:
            dlq.close()
        _wait_for(streams_log, "dead_lettered", time.monotonic() + 10)
    worker = _records(streams_log)
    web = _records(tmp_path / "web.log")
    for record in worker + web:
        assert {"event", "level", "logger", "timestamp"} <= set(record), record
        assert record["level"] in {"debug", "info", "warning", "error", "critical"}, record
    # Faust's own info records are info, ours keep theirs: nothing wrapped in a WARNING.
    ready = next(r for r in worker if "Worker]: Ready" in r["event"])
    assert (ready["level"], ready["logger"]) == ("info", "faust.worker")
    dead = next(r for r in worker if r["event"] == "dead_lettered")
    assert (dead["level"], dead["logger"]) == ("warning", "c360.streams")
    assert dead["stage"] and dead["kind"] == "invalid"
    assert not any("[WARNING]" in r["event"] or "[info" in r["event"] for r in worker)
    http_ready = next(r for r in web if r["event"] == "http_ready")
    assert http_ready["level"] == "info"


# A client of a closed port for a few seconds, logging through the process's pipeline.
CLOSED_PORT_CLIENT = """
import socket, sys, time
from confluent_kafka import Producer
from infra.kafka_config import KafkaEndpoint, producer_config
from infra.logs import configure_logging

configure_logging("json", "INFO")
with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
producer = Producer(producer_config(KafkaEndpoint(f"127.0.0.1:{port}"), "c360-closed"))
until = time.monotonic() + float(sys.argv[1])
while time.monotonic() < until:
    producer.poll(0.1)
"""


def test_librdkafka_lines_are_structured_records_rate_limited(tmp_path: Path) -> None:
    """librdkafka retries a closed port many times a second: its lines come out as records
    (facility, client, level from syslog's), each kind once, and nothing raw on stderr."""
    seconds = 4.0
    done = subprocess.run(
        [sys.executable, "-c", CLOSED_PORT_CLIENT, str(seconds)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "librdkafka logged nothing about the closed port"
    assert not any(line.startswith("%") for line in lines), "a raw librdkafka line on stderr"
    records = [json.loads(line) for line in lines]
    for record in records:
        assert record["logger"] == "librdkafka", record
        assert record["facility"] and record["client"].startswith("c360-closed#producer"), record
        assert record["level"] in {"error", "warning", "info"}, record
    fails = [r for r in records if r["facility"] == "FAIL"]
    assert fails and fails[0]["level"] == "error"
    assert "Connection refused" in fails[0]["event"]
    # One line per kind within the window (30 s), however often librdkafka retried.
    kinds = [(r["facility"], "".join(c for c in r["event"] if not c.isdigit())) for r in records]
    assert len(kinds) == len(set(kinds)), lines
