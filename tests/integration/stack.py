"""Start the streams worker and the HTTP service as subprocesses for integration tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from c360.procs import free_port
from schemas.topics import CATALOGUE
from tests.credentials import redis_key_sync

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 90.0  # liveness bound for a pipeline hop, not a performance assertion


def wait_http(url: str, deadline: float) -> None:
    """Poll until `url` answers 200, or fail at the deadline."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def create_topics(bootstrap: str, prefix: str) -> None:
    """Create every catalogue topic under `prefix` (Tansu does not auto-create)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(prefix + spec.name, spec.partitions, 1) for spec in CATALOGUE]
    )
    for future in futures.values():
        future.result(30)


@contextlib.contextmanager
def running_stack(
    bootstrap: str, redis_url: str, logs: Path, **env_extra: str
) -> Iterator[dict[str, str | Path]]:
    """Worker + HTTP service on a fresh topic prefix, app id and key namespace."""
    prefix = f"p{uuid.uuid4().hex[:8]}."
    create_topics(bootstrap, prefix)
    http_port, worker_port = free_port(), free_port()
    env = {
        **os.environ,
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "C360_REDIS_URL": redis_url,
        "C360_TOPIC_PREFIX": prefix,
        "C360_APP_ID": f"c360-test-{prefix[:-1]}",
        "C360_KEY_NAMESPACE": f"c360t{prefix[:-1]}",
        "C360_HTTP_PORT": str(http_port),
        "C360_DEFAULT_REGION": "GB",
        "C360_LOG_FORMAT": "json",
        # tests.factories stamps events at tomorrow 09:00: up to 33 h ahead of the clock.
        "C360_MAX_FUTURE_SECONDS": str(3 * 86_400),
        **env_extra,
    }
    procs = []
    for name, argv in (
        (
            "streams",
            [
                sys.executable,
                "-m",
                "streams",
                "worker",
                "-l",
                "info",
                "--web-port",
                str(worker_port),
            ],
        ),
        ("web", [sys.executable, "-m", "web.service"]),
    ):
        out = (logs / f"{name}.log").open("wb")
        # In the logs dir: Faust makes its data directory in the working directory.
        procs.append(
            subprocess.Popen(
                argv,
                cwd=logs,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:
        wait_http(f"http://127.0.0.1:{http_port}/health", time.monotonic() + DEADLINE)
        yield {
            "prefix": prefix,
            "http": f"http://127.0.0.1:{http_port}",
            "worker": f"http://127.0.0.1:{worker_port}",
            "bootstrap": bootstrap,
            "logs": logs,
            "redis_url": redis_url,
            "namespace": env["C360_KEY_NAMESPACE"],
        }
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def stack_bearer(
    stack: dict[str, str | Path], tenant: str, scopes: tuple[str, ...] = ("timeline:read",)
) -> dict[str, str]:
    """An Authorization header with a new API key of `tenant` in the stack's Redis namespace
    (as `c360 keys create` makes one), for requests to the stack's web service."""
    made: dict = stack.setdefault("keys", {})  # type: ignore[assignment]
    if (tenant, scopes) not in made:  # one key per tenant and scopes, reused by polls
        url, namespace = str(stack["redis_url"]), str(stack["namespace"])
        made[(tenant, scopes)] = redis_key_sync(url, namespace, tenant, scopes)
    return {"Authorization": f"Bearer {made[(tenant, scopes)]}"}


def worker_env(bootstrap: str, redis_url: str, prefix: str, name: str, **extra: str) -> dict:
    """A streams worker's environment on its own topic prefix, app id and key namespace."""
    return {
        **os.environ,
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "C360_REDIS_URL": redis_url,
        "C360_TOPIC_PREFIX": prefix,
        "C360_APP_ID": f"c360-{name}-{prefix[:-1]}",
        "C360_KEY_NAMESPACE": f"c360{name[0]}{prefix[:-1]}",
        "C360_DEFAULT_REGION": "GB",
        "C360_LOG_FORMAT": "json",
        **extra,
    }


def start_streams_worker(env: dict, log, cwd: Path) -> subprocess.Popen:
    """The Faust worker as a subprocess in its own session, run in `cwd` (Faust makes its
    data directory in the working directory)."""
    argv = [
        sys.executable,
        "-m",
        "streams",
        "worker",
        "-l",
        "info",
        "--web-port",
        str(free_port()),
    ]
    return subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_worker(worker: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the worker's group, SIGKILL past the grace."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def output_reader(bootstrap: str, topic: str):
    """A consumer of every partition of a catalogue topic from its start, by assignment (no
    group join to wait for on the dev broker)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition  # noqa: PLC0415

    parts = next(s.partitions for s in CATALOGUE if topic.endswith(s.name))
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
    return consumer
