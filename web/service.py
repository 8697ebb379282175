"""The HTTP service: read API, health and readiness on one port (`python -m web.service`)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import structlog
from aiohttp import web

from core.errors import InvalidIdentifier
from core.ports import Party
from core.timeline import Retention
from infra.logs import configure_logging
from infra.settings_web import WebSettings
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from streams.bootstrap import wall_clock_ms
from streams.handlers import party_for_identifier
from streams.settings import StreamSettings
from web.read_api import ReadApi, add_read_routes

log = structlog.get_logger("web.service")

# Optional parts mount themselves when their package is present: each exposes
# `setup(app, settings) -> None`. Kept as a list so the service grows without edits here.
EXTENSIONS = (
    "web.read_routes",
    "connectors.gateway.web",
    "connectors.sources.ingest_web",
)


# Identifier -> Party is a pure function of the settings; an agent desktop asks for the same
# few callers again and again, and normalizing + hashing is a noticeable part of a read.
RESOLVED_CACHE = 4096


def make_resolver(settings: StreamSettings) -> Callable[[str, str], Party]:
    """Identifier in any accepted format -> Party (ValueError when it cannot be read);
    successful resolutions are kept in a bounded LRU (errors are not)."""

    @functools.lru_cache(maxsize=RESOLVED_CACHE)
    def resolve(tenant: str, identifier: str) -> Party:
        try:
            return party_for_identifier(tenant, identifier, settings)
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from exc

    return resolve


def build_app(settings: StreamSettings) -> web.Application:
    """The aiohttp application with every route mounted."""
    app = web.Application(client_max_size=settings.max_payload_bytes)
    client = redis_client(settings.redis_url)
    retention = Retention(
        settings.timeline_max_entries, settings.timeline_retention_days * 86_400_000
    )
    timeline = RedisTimelineStore(client, Keys(settings.key_namespace), retention)
    add_read_routes(
        app,
        ReadApi(timeline, make_resolver(settings), wall_clock_ms, settings.default_tenant),
    )

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(_request: web.Request) -> web.Response:
        try:
            await client.ping()
        except Exception as exc:
            return web.json_response({"status": "redis_unavailable", "error": str(exc)}, status=503)
        return web.json_response({"status": "ready"})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    for name in EXTENSIONS:
        _mount(app, name, settings)

    async def _close(_app: web.Application) -> None:
        await client.aclose()

    app.on_cleanup.append(_close)
    return app


def _mount(app: web.Application, module_name: str, settings: StreamSettings) -> None:
    import importlib  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec(module_name) is None:
        return
    module = importlib.import_module(module_name)
    module.setup(app, settings)
    log.info("web_extension_mounted", module=module_name)


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
    runner = web.AppRunner(build_app(settings))
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
