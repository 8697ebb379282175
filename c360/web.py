"""The HTTP service: read API, health and readiness on one port (`python -m c360.web`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

import structlog
from aiohttp import web

from projections.http_api import ReadApi, add_read_routes
from projections.keys import Keys
from projections.ports import Party
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.timeline import Retention
from streams.bootstrap import wall_clock_ms
from streams.errors import InvalidIdentifier
from streams.handlers import party_for_identifier
from streams.logconfig import configure_logging
from streams.settings import StreamSettings

log = structlog.get_logger("c360.web")

# Optional parts mount themselves when their package is present: each exposes
# `setup(app, settings) -> None`. Kept as a list so the service grows without edits here.
EXTENSIONS = (
    "projections.query_api",
    "connectors.gateway.web",
    "connectors.sources.ingest_web",
)


def make_resolver(settings: StreamSettings) -> Callable[[str, str], Party]:
    """Identifier in any accepted format -> Party (ValueError when it cannot be read)."""

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


async def serve(settings: StreamSettings) -> None:
    """Run until SIGINT/SIGTERM."""
    runner = web.AppRunner(build_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("http_ready", url=f"http://{settings.http_host}:{settings.http_port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    """Entry point of `python -m c360.web`."""
    settings = StreamSettings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
