"""The HTTP service process: create_app served by one or more processes (python -m web.service)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import subprocess
import sys

import structlog
from aiohttp import web

from infra.logs import configure_logging
from infra.settings_web import WebSettings
from streams.settings import StreamSettings
from web.access_log import PathOnlyAccessLogger
from web.app import create_app
from web.bootstrap import build_web_deps

log = structlog.get_logger("web.service")




def _start_siblings(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` more copies of this service sharing the port (SO_REUSEPORT): the kernel
    spreads new connections over every process listening on it."""
    env = {**os.environ, "C360_HTTP_PROCESSES": "1", "C360_HTTP_REUSE_PORT": "1"}
    return [subprocess.Popen([sys.executable, "-m", "web.service"], env=env) for _ in range(count)]


async def _watch(siblings: list[subprocess.Popen[bytes]], stop: asyncio.Event) -> bool:
    """True when a sibling exited on its own (then `stop` is set)."""
    # One process gone means the port serves with less capacity than configured: stop all
    # and let the supervisor (systemd, Kubernetes, `c360 dev up`) restart the service.
    while not stop.is_set():
        if any(p.poll() is not None for p in siblings):
            log.error("web_process_exited", codes=[p.returncode for p in siblings])
            stop.set()
            return True
        await asyncio.sleep(0.5)
    return False


async def serve(settings: StreamSettings, web_settings: WebSettings | None = None) -> int:
    """Run until SIGINT/SIGTERM (with its sibling processes when C360_HTTP_PROCESSES > 1);
    the exit code: 1 when a sibling process exited on its own, else 0."""
    web_settings = web_settings or WebSettings()
    runner = web.AppRunner(
        create_app(settings, build_web_deps(settings)), access_log_class=PathOnlyAccessLogger
    )
    await runner.setup()
    site = web.TCPSite(
        runner, settings.http_host, settings.http_port, reuse_port=web_settings.reuse_port or None
    )
    await site.start()
    # Everything built so far (modules, app, clients: ~60k objects) lives as long as the
    # process; frozen, a full collection no longer walks it. Full collections are rare
    # (none in 15 s at 500 reads/s) but each walked all of it for 25-65 ms, a pause every
    # request in flight would wait for.
    gc.collect()
    gc.freeze()
    siblings = _start_siblings(web_settings.processes - 1)
    log.info(
        "http_ready",
        url=f"http://{settings.http_host}:{settings.http_port}",
        processes=web_settings.processes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(_watch(siblings, stop)) if siblings else None
    await stop.wait()
    for proc in siblings:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    await runner.cleanup()
    for proc in siblings:
        await asyncio.to_thread(proc.wait)
    if watcher is None:
        return 0
    lost = watcher.done() and watcher.result()
    watcher.cancel()
    return 1 if lost else 0


def main() -> None:
    """Entry point of `python -m web.service`."""
    settings = StreamSettings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    raise SystemExit(asyncio.run(serve(settings, WebSettings.from_env())))


if __name__ == "__main__":
    main()
