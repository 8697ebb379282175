"""`c360 dev up` end to end: ready banner, topics, worker restarts, no process left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from c360.demo import live_call
from c360.devstate import read_state
from c360.kafka_admin import list_topics
from c360.procs import free_port, group_alive, pid_alive, wait_until
from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.topics import INTERACTIONS, topic_names
from tests.credentials import bearer, desktop_token

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
    banner = proc.wait_for("prints a fresh link")
    data_dir = tmp_path / ".c360" / "dev"
    state = read_state(data_dir)
    assert state is not None
    assert state["phase"] == "ready"
    assert set(topic_names()) <= set(list_topics(state["bootstrap"]))
    with urllib.request.urlopen(state["http_url"] + "/health", timeout=5) as resp:
        assert resp.status == 200
    # The banner's sign-in link is the panel with agent-1's token in the fragment; the
    # stack's gateway accepts that token.
    link = next(w for w in banner.split() if "#token=" in w)
    assert link.startswith(state["http_url"] + "/desktop/#token=")
    me = urllib.request.Request(
        state["http_url"] + "/v1/desktop/me",
        headers={"Authorization": "Bearer " + link.split("#token=")[1]},
    )
    with urllib.request.urlopen(me, timeout=5) as resp:
        assert json.loads(resp.read())["agent"] == "agent-1"
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


def test_a_crash_looping_worker_stops_the_stack_with_its_log(
    launch: Launch, tmp_path: Path, redis_url: str
) -> None:
    """A worker that keeps dying is restarted with backoff, then the supervisor gives up:
    it names the worker, its exit code and log tail, stops the rest and exits non-zero."""
    proc = _standin(launch, tmp_path, "--die", C360_REDIS_URL=redis_url)
    proc.wait_for(READY)
    data_dir = tmp_path / "dev"
    pids = _pids(data_dir)
    code, out = proc.finish()
    assert code == 1, out
    assert out.count("streams: restarted (pid") == 4, out
    assert "restarting in" in out
    assert "exited with code 3" in out
    assert "streams died 5 times within 60s" in out
    assert "standin giving up on purpose" in out
    _assert_all_gone([*pids, *_pids_seen(out)])


def _pids_seen(out: str) -> list[int]:
    """Pids the supervisor announced for restarted workers."""
    return [int(part.split(")", 1)[0]) for part in out.split("restarted (pid ")[1:]]


def test_a_dead_worker_is_restarted_and_the_stack_keeps_running(
    launch: Launch, tmp_path: Path
) -> None:
    """One death: the worker comes back (fresh log, the dead run's kept), Tansu and Redis
    keep their pids (their data survives), and Ctrl-C still stops everything."""
    proc = _standin(launch, tmp_path, "--die-once")
    proc.wait_for(READY)
    data_dir = tmp_path / "dev"
    before = read_state(data_dir)
    assert before is not None
    out = proc.wait_for("streams: ready again")
    assert "exited with code 4; restarting in" in out
    after = read_state(data_dir)
    assert after is not None
    pid = {c["name"]: c["pid"] for c in before["children"]}
    now = {c["name"]: c for c in after["children"]}
    assert now["tansu"]["pid"] == pid["tansu"]
    assert now["redis"]["pid"] == pid["redis"]
    assert now["streams"]["pid"] != pid["streams"]
    assert now["streams"]["restarts"] == 1
    assert "standin dying once" in (data_dir / "logs" / "streams.prev.log").read_text()
    assert "standin dying once" not in (data_dir / "logs" / "streams.log").read_text()
    pids = _pids(data_dir)
    assert pid_alive(now["streams"]["pid"])
    proc.interrupt()
    code, out = proc.finish()
    assert code == 0, out
    _assert_all_gone([*pids, pid["streams"]])


def test_real_stack_survives_kill_9_of_the_streams_worker(
    launch: Launch, tmp_path: Path
) -> None:
    """kill -9 of the Faust worker: the supervisor restarts it, the broker and Redis stay,
    and a call published after the kill reaches the timeline."""
    proc = launch(
        [sys.executable, "-m", "c360.cli", "dev", "up", "--no-demo", "--http-port", "0"],
        tmp_path,
        _env(),
    )
    proc.wait_for(READY)
    data_dir = tmp_path / ".c360" / "dev"
    state = read_state(data_dir)
    assert state is not None
    streams = next(c["pid"] for c in state["children"] if c["name"] == "streams")
    os.kill(streams, signal.SIGKILL)
    out = proc.wait_for("streams: restarted (pid")
    assert f"streams (pid {streams}) exited with code -9" in out
    events = live_call(datetime.now(tz=UTC), who="alice")
    producer = make_producer(state["bootstrap"])
    produce_all(producer, state["topic_prefix"] + INTERACTIONS,
                [(e.interaction_id.encode(), codec.encode(e)) for e in events])
    wanted = events[0].interaction_id
    query = urllib.parse.urlencode(
        {"identifier": "+442079460123", "tenant": "demo", "channel": "voice"}
    )
    # The read API needs a credential: a desktop token of the dev stack (its published
    # dev-only secret), as the panel's signed-in agent has.
    url = urllib.request.Request(
        f"{state['http_url']}/v1/timeline?{query}", headers=bearer(desktop_token("demo"))
    )

    def arrived() -> bool:
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.loads(resp.read())
        return wanted in [item["interaction_id"] for item in doc["items"]]

    wait_until(arrived, DEADLINE, "the call published after the kill on the timeline")
    assert proc.proc.poll() is None
    after = read_state(data_dir)
    assert after is not None
    assert {c["name"]: c["pid"] for c in after["children"]}["tansu"] == next(
        c["pid"] for c in state["children"] if c["name"] == "tansu"
    )
    proc.interrupt()
    code, out = proc.finish()
    assert code == 0, out


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
