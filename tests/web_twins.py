"""WebDeps on twins: create_app without Redis or Kafka (memory stores, topic and publisher)."""

from __future__ import annotations

import time
from collections.abc import Callable

from connectors.gateway.hub import Hub
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import Gateway
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import Ingest, IngestConfig
from core.ports import Party
from infra.kafka_producer import InMemoryPublisher
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import InMemoryInteractionLinks, InMemoryProfileDirectory
from projections.reads import ReadModel
from web.app import WebDeps
from web.read_api import ReadApi
from web.read_routes import QueryApi

SECRET = b"web-twins-secret-0123456789"


class AlwaysReady:
    """The readiness twin: the store always answers."""

    async def ping(self) -> bool:
        return True


def tokenize(tenant: str, raw: str) -> Party:
    """A resolver twin: any identifier is a phone party of its own."""
    return Party(tenant, f"tok-{raw}", "phone")


def twin_deps(
    query: QueryApi | None = None,
    *,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    publisher: InMemoryPublisher | None = None,
    topic: InMemoryPopTopic | None = None,
) -> WebDeps:
    """Every port on its twin (dev mode: dev login on, ingest open); `query` replaces the
    read side (e.g. a Redis-backed one in integration tests)."""
    store = InMemoryTimelineStore()
    query = query or QueryApi(
        ReadModel(
            store,
            profiles=InMemoryProfileDirectory(),
            links=InMemoryInteractionLinks(),
            parties=InMemoryInteractionParties(),
        ),
        ReadApi(tokenize, clock_ms, "demo"),
    )
    publisher = publisher or InMemoryPublisher()
    topic = topic or InMemoryPopTopic(partitions=2)
    config = GatewayConfig("unused:1", "t.c360.screenpops.v1", "t.c360.desktop.v1", "demo")
    gateway = Gateway(
        GatewaySettings(secret=SECRET, dev=True),
        config,
        Hub(20, 60_000, lambda: int(time.time() * 1000)),
        topic,
        topic,
        publisher,
    )
    ingest_config = IngestConfig(
        "t.c360.interactions.v1", "t.c360.dlq.v1", 1_048_576, "demo", IngestSettings(dev=True)
    )
    return WebDeps(
        query=query,
        store=AlwaysReady(),
        gateway=gateway,
        ingest=Ingest(ingest_config, publisher),
        closers=(),
    )
