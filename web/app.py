"""The aiohttp application: `create_app(settings, deps)` mounts every route module explicitly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from connectors.gateway import crm_oauth_web as crm_identity_routes
from connectors.gateway import web as gateway_routes
from connectors.gateway.crms import CrmIdentity
from connectors.gateway.web import Gateway
from connectors.sources import ingest_web as ingest_routes
from connectors.sources.ingest_web import Ingest
from core.access import METRICS
from infra.http_routes import Described, Operation, Reply
from infra.metrics import mount as mount_metrics
from infra.metrics import new_registry
from streams.settings import StreamSettings
from web import openapi, read_routes
from web.access import Access, access_middleware
from web.read_routes import QueryApi


class Pingable(Protocol):
    """What readiness asks: the store answers (a Redis client is one; raises when not)."""

    def ping(self) -> Awaitable[Any]:
        """Raise when the store does not answer."""


@dataclass(frozen=True, slots=True)
class WebDeps:
    """Everything the routes need, all required; web.bootstrap builds the Redis/Kafka-backed
    one, tests pass twins (memory stores, InMemoryPopTopic, InMemoryPublisher)."""

    query: QueryApi
    store: Pingable
    gateway: Gateway
    ingest: Ingest
    # Who may call which route (web.access): credentials, scopes, rate limits.
    access: Access
    # What the composition root opened and the route modules do not own (Redis clients,
    # the ingest producer): closed, in order, when the app cleans up.
    closers: tuple[Callable[[], Awaitable[object]], ...]
    # Per-agent CRM identity (OAuth connect flow); off (routes answer 404) by default.
    crm_identity: CrmIdentity = field(default_factory=CrmIdentity)


class Health(Described):
    """The process answers."""

    status: str = Field(examples=["ok"])


class Ready(Described):
    """Whether the store answers."""

    status: str = Field(examples=["ready", "redis_unavailable"])
    error: str | SkipJsonSchema[None] = Field(None, description="Why not (503 only).")


OPERATIONS = (
    Operation(
        "GET", "/health", "Liveness: the process answers", "operations", {200: Reply("ok", Health)}
    ),
    Operation(
        "GET",
        "/ready",
        "Readiness: Redis answers",
        "operations",
        {200: Reply("ready", Ready), 503: Reply("redis_unavailable", Ready)},
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics of this process (text 0.0.4, or OpenMetrics on Accept)",
        "operations",
        {200: Reply("The exposition", media="text/plain")},
        security=("bearer",),
        scope=METRICS,
    ),
)
# Every route the service serves, one table per route module; the OpenAPI document is
# assembled from exactly these (tests/unit/web/test_openapi.py compares them with the router).
ALL_OPERATIONS: tuple[Operation, ...] = (
    *OPERATIONS,
    *read_routes.OPERATIONS,
    *ingest_routes.OPERATIONS,
    *gateway_routes.OPERATIONS,
    *crm_identity_routes.OPERATIONS,
    *openapi.OPERATIONS,
)


def add_routes(app: web.Application, store: Pingable) -> None:
    """/health and /ready."""

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(_request: web.Request) -> web.Response:
        try:
            await store.ping()
        except Exception as exc:
            return web.json_response({"status": "redis_unavailable", "error": str(exc)}, status=503)
        return web.json_response({"status": "ready"})

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)


def create_app(settings: StreamSettings, deps: WebDeps) -> web.Application:
    """The aiohttp application with every route mounted (no connection is opened here)."""
    # Every request passes the access check first: a route's declared scope decides.
    app = web.Application(
        client_max_size=settings.max_payload_bytes,
        middlewares=[access_middleware(deps.access, ALL_OPERATIONS)],
    )
    add_routes(app, deps.store)
    mount_metrics(app, new_registry())  # one registry per application: this process's
    read_routes.add_routes(app, deps.query)
    ingest_routes.add_routes(app, deps.ingest)
    gateway_routes.add_routes(app, deps.gateway)
    crm_identity_routes.add_routes(app, deps.crm_identity)
    openapi.add_routes(app, openapi.document(ALL_OPERATIONS))

    async def _close(_app: web.Application) -> None:
        for close in deps.closers:
            await close()

    app.on_cleanup.append(_close)
    return app
