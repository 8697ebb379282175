"""`c360 dev up` end to end: ready banner, topics, Ctrl-C / `dev down` leave no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from c360.devstate import read_state
from c360.kafka_admin import list_topics
from c360.procs import free_port, group_alive, pid_alive, wait_until
from schemas.topics import INTERACTIONS, topic_names

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
READY = "c360 dev stack is ready"
DEADLINE = 180.0  # liveness only: a stack that needs longer is broken, not slow


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C360_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


class Supervisor:
    """A `dev up` process whose output goes to a file the test polls (no pipe to fill)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.out_path = cwd / "supervisor.out"
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        """Everything the supervisor printed so far."""
        return self.out_path.read_text()

    def wait_for(self, marker: str) -> str:
        """Poll the output until `marker`; fail with the whole output otherwise."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            out = self.output()
            if marker in out:
                return out
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"no {marker!r} (exit {self.proc.returncode}); output:\n{self.output()}")

    def finish(self) -> tuple[int, str]:
        """Wait for the exit; (exit code, whole output)."""
        return self.proc.wait(60), self.output()

    def stop(self) -> None:
        """Teardown: a graceful stop (children too); SIGKILL only as the last resort."""
        if self.proc.poll() is None:
            self.interrupt()
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def interrupt(self) -> None:
        """What Ctrl-C in its terminal would do."""
        self.proc.send_signal(signal.SIGINT)


def _pids(data_dir: Path) -> list[int]:
    state = read_state(data_dir)
    assert state is not None, "state.json missing while the stack runs"
    pids = [int(c["pid"]) for c in state["children"]]
    for standin in data_dir.glob("standin-*.json"):
        pids.append(json.loads(standin.read_text())["grandchild"])
    return pids


def _assert_all_gone(pids: list[int]) -> None:
    survivors = [p for p in pids if pid_alive(p) or group_alive(p)]
    assert survivors == [], f"processes survived the stack: {survivors}"


@pytest.fixture
def launch() -> Iterator[Callable[[list[str], Path, dict[str, str]], Supervisor]]:
    """Start supervisors; any still running after the test (it failed) is stopped cleanly."""
    started: list[Supervisor] = []

    def start(argv: list[str], cwd: Path, env: dict[str, str]) -> Supervisor:
        started.append(Supervisor(argv, cwd, env))
        return started[-1]

    yield start
    for sup in started:
        sup.stop()


Launch = Callable[[list[str], Path, dict[str, str]], Supervisor]


def _standin(launch: Launch, tmp_path: Path, *flags: str, **env: str) -> Supervisor:
    argv = [
        sys.executable,
        "-m",
        "tests.integration.devstack_runner",
        "--data-dir",
        str(tmp_path / "dev"),
        *flags,
    ]
    return launch(argv, tmp_path, _env(**env))


def test_real_stack_reaches_ready_and_sigint_stops_everything(
    launch: Launch, tmp_path: Path
) -> None:
    """The real `c360 dev up --no-demo` gets ready, has every topic and answers /health."""
    proc = launch(
        [sys.executable, "-m", "c360.cli", "dev", "up", "--no-demo", "--http-port", "0"],
        tmp_path,
        _env(),
    )
    proc.wait_for(READY)
    data_dir = tmp_path / ".c360" / "dev"
    state = read_state(data_dir)
    assert state is not None
    assert state["phase"] == "ready"
    assert set(topic_names()) <= set(list_topics(state["bootstrap"]))
    with urllib.request.urlopen(state["http_url"] + "/health", timeout=5) as resp:
        assert resp.status == 200
    pids = _pids(data_dir)
    assert {c["name"] for c in state["children"]} >= {"tansu", "redis", "streams", "web"}
    # The worker that runs must own the agents: Faust logs its partition assignment.
    assert INTERACTIONS in (data_dir / "logs" / "streams.log").read_text()
    proc.interrupt()
    code, out = proc.finish()
    assert code == 0, out
    _assert_all_gone(pids)
    assert read_state(data_dir) is None


def test_sigint_stops_children_and_grandchildren(
    launch: Launch, tmp_path: Path, redis_url: str
) -> None:
    """Stand-in workers get the stack's env; SIGINT stops every process group."""
    proc = _standin(launch, tmp_path, C360_REDIS_URL=redis_url, C360_USER_SETTING="kept")
    out = proc.wait_for(READY)
    assert "crm-sink: module c360_no_such.worker is not there yet" in out
    data_dir = tmp_path / "dev"
    pids = _pids(data_dir)
    env = json.loads((data_dir / "standin-web.json").read_text())["env"]
    state = read_state(data_dir)
    assert state is not None
    assert env["C360_KAFKA_BOOTSTRAP_SERVERS"] == state["bootstrap"]
    assert env["C360_REDIS_URL"] == redis_url
    assert env["C360_ENV"] == "dev"
    assert env["C360_USER_SETTING"] == "kept"
    assert state["http_url"].endswith(":" + env["C360_HTTP_PORT"])
    proc.interrupt()
    code, out = proc.finish()
    assert code == 0, out
    _assert_all_gone(pids)


def _dev(action: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`c360 dev <action>` as another terminal would run it."""
    return subprocess.run(
        [sys.executable, "-m", "c360.cli", "dev", action, "--data-dir", str(data_dir)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dev_down_from_another_process(launch: Launch, tmp_path: Path) -> None:
    """`c360 dev down` in another process stops a running stack (own redis-server too)."""
    proc = _standin(launch, tmp_path)
    proc.wait_for(READY)
    data_dir = tmp_path / "dev"
    pids = _pids(data_dir)
    state = read_state(data_dir)
    assert state is not None
    assert "redis" in {c["name"] for c in state["children"]}
    status = _dev("status", data_dir)
    assert status.returncode == 0, status.stdout
    down = _dev("down", data_dir)
    assert down.returncode == 0, down.stdout + down.stderr
    code, out = proc.finish()
    assert code == 0, out
    _assert_all_gone(pids)
    assert read_state(data_dir) is None


def test_a_dying_worker_stops_the_stack_with_its_log(
    launch: Launch, tmp_path: Path, redis_url: str
) -> None:
    """A worker that exits is named with its log tail; the rest is stopped; exit is non-zero."""
    proc = _standin(launch, tmp_path, "--die", C360_REDIS_URL=redis_url)
    proc.wait_for(READY)
    data_dir = tmp_path / "dev"
    pids = _pids(data_dir)
    code, out = proc.finish()
    assert code == 1
    assert "streams (pid" in out
    assert "exited with code 3" in out
    assert "standin giving up on purpose" in out
    _assert_all_gone(pids)


def test_worker_command_execs_the_web_service(
    launch: Launch, tmp_path: Path, redis_url: str
) -> None:
    """`c360 worker web` (the container command) serves /health and stops on SIGTERM."""
    port = free_port()
    proc = launch(
        [sys.executable, "-m", "c360.cli", "worker", "web"],
        tmp_path,
        _env(C360_REDIS_URL=redis_url, C360_HTTP_PORT=str(port), C360_ENV="dev"),
    )
    url = f"http://127.0.0.1:{port}/health"
    wait_until(lambda: urllib.request.urlopen(url, timeout=2).status == 200, DEADLINE, url)
    proc.proc.terminate()
    code, out = proc.finish()
    assert code == 0, out
