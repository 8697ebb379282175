"""Child-process supervision: free ports, process groups, log files, clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.backoff import Backoff


def module_available(name: str) -> bool:
    """True when `name` can be imported (find_spec raises when a parent package is missing)."""
    import importlib.util  # noqa: PLC0415

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it; small race accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Child:
    """A started child process: own process group, output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    argv: tuple[str, ...] = field(default=())

    @property
    def pid(self) -> int:
        """The child's pid (also its process-group id: it leads its own session)."""
        return self.popen.pid

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the child's log, for error messages."""
        return tail(self.log_path, lines)

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM the whole group, wait up to `grace` s, then SIGKILL; returns the exit code."""
        stop_group(self.popen.pid, grace, self.popen)
        return self.popen.returncode


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a text file ('' when it does not exist)."""
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Child:
    """Start argv in a new session (its own process group) with stdout+stderr to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        # A new session means Ctrl-C in the terminal reaches only the supervisor, which then
        # stops each child group in order; and killpg reaches grandchildren too.
        popen = subprocess.Popen(  # noqa: S603 - argv is built by us, never by a shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return Child(name, popen, log_path, tuple(argv))


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process is in the group."""
    proc = Path("/proc")
    if proc.is_dir():
        for stat_file in proc.glob("[0-9]*/stat"):
            try:
                fields = stat_file.read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue  # exited while we looked
            # fields after the command: state, ppid, pgrp, ...
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(
    pgid: int, grace: float = 10.0, popen: subprocess.Popen[bytes] | None = None
) -> None:
    """Terminate a process group: SIGTERM, wait up to `grace` s, then SIGKILL the rest."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if popen is not None:
            popen.poll()  # reap our own child so it does not linger as a zombie
        if popen is not None and popen.returncode is not None and not group_alive(pgid):
            return
        if popen is None and not pid_alive(pgid) and not group_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(5)


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    child: Child | None = None,
    interval: float = 0.2,
    cancel: Callable[[], bool] | None = None,
) -> None:
    """Poll `check` until it holds; raise TimeoutError, ChildDied or Cancelled with context."""
    deadline = time.monotonic() + timeout
    while True:
        if cancel is not None and cancel():
            raise Cancelled(what)
        if child is not None and not child.alive():
            raise ChildDied(child)
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() >= deadline:
            msg = f"{what} not ready after {timeout:.0f}s"
            if child is not None:
                msg += f"; last lines of {child.log_path}:\n{child.log_tail()}"
            raise TimeoutError(msg)
        time.sleep(interval)


class ChildDied(RuntimeError):
    """A supervised child exited when it should be running."""

    def __init__(self, child: Child) -> None:
        self.child = child
        code = child.popen.returncode
        super().__init__(
            f"{child.name} (pid {child.pid}) exited with code {code}; "
            f"last lines of {child.log_path}:\n{child.log_tail()}"
        )


class CrashLoop(ChildDied):
    """A worker died too often too quickly: restarting it again would not help."""

    def __init__(self, child: Child, give_up: GiveUp) -> None:
        self.child = child
        RuntimeError.__init__(
            self,
            f"{child.name} died {give_up.failures} times within {give_up.window:.0f}s "
            f"(last exit code {child.popen.returncode}); giving up and stopping the stack; "
            f"last lines of {child.log_path}:\n{child.log_tail()}",
        )


class Cancelled(RuntimeError):
    """A wait was abandoned because a stop was requested (Ctrl-C, `c360 dev down`)."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When a dead worker is restarted: capped exponential backoff, and a give-up rule
    (`max_failures` deaths within `window` seconds) so a crash loop ends with a message."""

    initial_delay: float = 1.0
    max_delay: float = 30.0
    max_failures: int = 5
    window: float = 60.0


@dataclass(frozen=True, slots=True)
class Restart:
    """Start the worker again after `delay` s; `attempt` counts deaths within the window."""

    delay: float
    attempt: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Too many quick deaths: stop the stack and say why."""

    failures: int
    window: float


def restart_decision(
    policy: RestartPolicy, deaths: Sequence[float], now: float
) -> Restart | GiveUp:
    """Decide after a death; `deaths` holds the monotonic times of this worker's deaths,
    the latest included. Deaths older than the window are forgotten, so a worker that ran
    for a while starts again from the first delay."""
    recent = [t for t in deaths if now - t < policy.window]
    count = max(1, len(recent))
    if count >= policy.max_failures:
        return GiveUp(count, policy.window)
    # No jitter: one worker restarting, nothing to spread out.
    return Restart(Backoff(policy.initial_delay, policy.max_delay).ceiling(count), count)
