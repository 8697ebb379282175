"""What the composition root hands the HTTP read API: store, identifier resolver, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from core.ports import Party, TimelineStore

# The resolver turns "any format the normalizer accepts" into a Party. It is injected by the
# composition root (web.service) because normalization lives in core.identity, which this
# package must not import; it raises ValueError for input it cannot normalize.
Resolver = Callable[[str, str], Party]


@dataclass(frozen=True, slots=True)
class ReadApi:
    """What the read routes need from the composition root."""

    timeline: TimelineStore
    resolve: Resolver
    clock_ms: Callable[[], int]
    default_tenant: str
    default_limit: int = 50


READ_API = web.AppKey("read_api", ReadApi)


def add_read_routes(app: web.Application, api: ReadApi) -> None:
    """Hand the read API its dependencies; `web.read_routes.setup` mounts the routes
    (GET /v1/timeline and the rest) when web.service loads its extensions."""
    app[READ_API] = api
