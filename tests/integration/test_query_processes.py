"""C360_HTTP_PROCESSES=2: two web processes listen on one port; SIGTERM stops both."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.procs import free_port, pid_alive
from tests.integration.stack import ROOT, wait_http

pytestmark = pytest.mark.integration
DEADLINE = 60.0  # liveness bound for start and stop, not a performance assertion


def _listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (one per process with SO_REUSEPORT)."""
    wanted = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == wanted and row.split()[3] == "0A")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@contextlib.contextmanager
def _two_processes(
    kafka_bootstrap: str, redis_url: str, namespace: str, logs: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """`python -m web.service` with C360_HTTP_PROCESSES=2, serving: (first process, its
    sibling's pid, the port)."""
    port = free_port()
    env = {
        **os.environ,
        "C360_ENV": "dev",
        "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": namespace,
        "C360_TOPIC_PREFIX": f"{namespace}.",
        "C360_HTTP_PORT": str(port),
        "C360_HTTP_PROCESSES": "2",
    }
    with (logs / "web.log").open("wb") as out:
        parent = subprocess.Popen(
            [sys.executable, "-m", "web.service"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + DEADLINE
        wait_http(f"http://127.0.0.1:{port}/health", deadline)
        while _listeners(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _listeners(port) == 2
        (sibling,) = _children(parent.pid)
        yield parent, sibling, port
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait(10)


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + DEADLINE
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not pid_alive(pid)


def test_two_processes_share_the_port_and_stop_together(
    kafka_bootstrap, redis_url, redis_namespace, tmp_path
):
    """Both processes listen (two sockets on the port), the service answers, and a SIGTERM
    to the first stops the second too."""
    with _two_processes(kafka_bootstrap, redis_url, redis_namespace, tmp_path) as running:
        parent, sibling, port = running
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(DEADLINE) == 0
        assert _gone(sibling)
        assert _listeners(port) == 0


def test_a_lost_process_stops_the_service_with_an_error(
    kafka_bootstrap, redis_url, redis_namespace, tmp_path
):
    """The sibling is killed: the first process stops too and exits 1, so the supervisor
    restarts the service at full capacity instead of leaving it at half."""
    with _two_processes(kafka_bootstrap, redis_url, redis_namespace, tmp_path) as running:
        parent, sibling, port = running
        os.kill(sibling, signal.SIGKILL)
        assert parent.wait(DEADLINE) == 1
        assert _listeners(port) == 0
