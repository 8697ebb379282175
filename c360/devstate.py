"""The dev stack's state file (.c360/dev/state.json) and the `dev down` / `dev status` verbs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from c360.devspecs import DEV_TENANT_REGIONS
from c360.procs import group_alive, pid_alive, stop_group

DEFAULT_DATA_DIR = Path(".c360/dev")
STATE_FILE = "state.json"

Say = Callable[[str], None]


def state_path(data_dir: Path) -> Path:
    """Where the running stack describes itself."""
    return data_dir / STATE_FILE


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Write atomically, so a concurrent `dev status` never reads half a file."""
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.replace(path)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The state of the stack, or None when no stack left one."""
    try:
        data = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def clear_state(data_dir: Path) -> None:
    """Forget the state (the stack is stopped)."""
    with contextlib.suppress(FileNotFoundError):
        state_path(data_dir).unlink()


def same_process(pid: int, cmd: str) -> bool:
    """True when `pid` is alive and still runs `cmd` (guards against pid reuse)."""
    if not pid_alive(pid):
        return False
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
    except OSError:
        return True  # no /proc (macOS): trust the pid
    # redis-server rewrites its title to "<path> <host:port>", hence the prefix match
    return not cmd or argv0 == cmd or argv0.startswith(cmd + " ")


def _children(state: dict[str, Any]) -> list[dict[str, Any]]:
    items = state.get("children", [])
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def down(data_dir: Path, say: Say, timeout: float = 60.0) -> int:
    """Ask the supervisor to stop (SIGTERM), wait; then kill any child group it left behind."""
    state = read_state(data_dir)
    if state is None:
        say(f"no dev stack is running (no {state_path(data_dir)})")
        return 0
    sup = int(state.get("supervisor_pid", 0))
    if sup and same_process(sup, str(state.get("supervisor_cmd", ""))):
        say(f"stopping dev stack (supervisor pid {sup}) ...")
        with contextlib.suppress(ProcessLookupError):
            os.kill(sup, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(sup) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(sup):
            say(f"supervisor {sup} did not stop within {timeout:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(sup, signal.SIGKILL)
    leftovers = 0
    for child in _children(state):
        pid = int(child.get("pid", 0))
        # Each child leads its own process group (pgid == pid), so the group outlives a
        # crashed supervisor; only act when the pid still runs what we started.
        if pid and group_alive(pid) and same_process(pid, str(child.get("cmd", ""))):
            leftovers += 1
            say(f"stopping leftover {child.get('name')} (pid {pid})")
            stop_group(pid, 10.0)
    clear_state(data_dir)
    extra = f" ({leftovers} leftover process group(s) killed)" if leftovers else ""
    say("dev stack stopped" + extra)
    return 0


def _health(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - our own loopback URL
            return f"HTTP {resp.status}"
    except OSError as exc:
        return f"unreachable ({exc})"


def status(data_dir: Path, say: Say) -> int:
    """Print what runs; exit 0 when the stack is up, 3 when it is not (like `systemctl`)."""
    state = read_state(data_dir)
    if state is None:
        say("dev stack: not running")
        return 3
    sup = int(state.get("supervisor_pid", 0))
    running = bool(sup) and same_process(sup, str(state.get("supervisor_cmd", "")))
    say(f"dev stack: {state.get('phase', '?') if running else 'not running (stale state)'}")
    say(f"  supervisor  pid {sup} {'alive' if running else 'gone'}")
    for child in _children(state):
        pid = int(child.get("pid", 0))
        alive = same_process(pid, str(child.get("cmd", "")))
        say(f"  {child.get('name', '?'):<11} pid {pid} {'alive' if alive else 'gone'}"
            f"  log {child.get('log', '')}")
    for key in ("bootstrap", "redis_url", "http_url", "log_dir"):
        say(f"  {key:<11} {state.get(key, '')}")
    if running and state.get("http_url"):
        say(f"  health      {_health(str(state['http_url']) + '/health')}")
        for line in _signin_lines(str(state["http_url"])):
            say(line)
    return 0 if running else 3


def _signin_lines(http_url: str) -> list[str]:
    """A fresh sign-in link, signed as the stack signs (the user's C360_GATEWAY_SECRET, if the
    stack was started with one, must be set here too; without it the dev secret is used)."""
    from c360.devsignin import signin_lines  # noqa: PLC0415 - only status pays for the gateway

    return signin_lines(http_url, {**os.environ, "C360_ENV": "dev"})


def tool_env(data_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Settings that point a `c360` tool (demo, publish, dlq, forget, ...) at the running dev
    stack: its broker, Redis, topic prefix and dev mode. Only variables the user has not set
    are returned; nothing when no stack of this data dir is ready."""
    state = read_state(data_dir)
    if not state or state.get("phase") != "ready":
        return {}
    if not same_process(int(state.get("supervisor_pid", 0)), str(state.get("supervisor_cmd", ""))):
        return {}
    wiring = {
        "C360_KAFKA_BOOTSTRAP_SERVERS": state.get("bootstrap"),
        "C360_REDIS_URL": state.get("redis_url"),
        "C360_TOPIC_PREFIX": state.get("topic_prefix"),
        "C360_ENV": "dev",
        "C360_TENANT_REGIONS": DEV_TENANT_REGIONS,  # as the stack's workers
    }
    return {k: str(v) for k, v in wiring.items() if v is not None and k not in environ}
