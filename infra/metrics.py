"""Prometheus metrics: a registry per process (made by its composition root), one exposition."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder

METRICS_PATH = "/metrics"
# Where an aiohttp application keeps its registry, for the parts mounted on it to register on.
REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)


def new_registry(*, runtime: bool = True) -> CollectorRegistry:
    """A registry of our own, never prometheus_client's global one: each process (and each
    test) sees only what it registered. `runtime` adds the process, platform and GC metrics."""
    registry = CollectorRegistry(auto_describe=True)
    if runtime:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The registry rendered for a scrape, and its Content-Type: the Prometheus text format
    (generate_latest), or OpenMetrics when the scraper's Accept header asks for it."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


def mount(app: web.Application, registry: CollectorRegistry) -> None:
    """Serve `registry` at GET /metrics on `app` and keep it under REGISTRY_KEY."""
    app[REGISTRY_KEY] = registry
    app.router.add_get(METRICS_PATH, aiohttp_handler(registry))


def aiohttp_handler(
    registry: CollectorRegistry,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /metrics for an aiohttp application."""

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = exposition(registry, request.headers.get("Accept"))
        # The header, not content_type=: aiohttp refuses a charset inside content_type.
        return web.Response(body=body, headers={"Content-Type": content_type})

    return metrics
