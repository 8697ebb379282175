"""WebDeps on twins: create_app without Redis or Kafka (memory stores, topic and publisher)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping

from connectors.crm.routing import CrmRouting
from connectors.gateway.desk import CrmDesk, ProfileDesk
from connectors.gateway.hub import Hub
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import Gateway
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import Ingest, IngestConfig
from core.access import TIMELINE_READ
from core.api_keys import ApiKey, compose, secret_hash
from core.crm.ports import CrmAdapter
from core.layouts import LayoutConfig
from core.ports import Party
from core.profile_schema import ProfileConfig
from core.rate_limits import RateLimit, RateLimiter, RateLimits
from infra.kafka_producer import InMemoryPublisher
from infra.oidc import JwksVerifier
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_api_keys import InMemoryApiKeys
from projections.memory_profile_search import InMemoryProfileSearchIndex
from projections.memory_profiles import InMemoryInteractionLinks, InMemoryProfileDirectory
from projections.memory_rate_limiter import InMemoryRateLimiter
from projections.reads import ReadModel
from web.access import Access
from web.app import WebDeps
from web.credentials import ApiKeyVerifier, DesktopTokenVerifier, OidcVerifier
from web.read_api import ReadApi
from web.read_routes import QueryApi

SECRET = b"web-twins-secret-0123456789"
TWIN_PEPPER = b"web-twins-pepper"
DAY_MS = 86_400_000


class TwinApiKeys(InMemoryApiKeys):
    """The API key twin, with `mint` for tests that need a credential."""

    def mint(
        self,
        tenant: str = "demo",
        scopes: Iterable[str] = (TIMELINE_READ,),
        *,
        expires_ms: int | None = None,
        revoked: bool = False,
    ) -> str:
        """A new key for `tenant` with `scopes` (valid for a day unless `expires_ms`), stored
        as `c360 keys create` stores it; the presented key string is returned."""
        now = time.time_ns() // 1_000_000
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        self._records[key_id] = ApiKey(
            key_id,
            tenant,
            frozenset(scopes),
            "test",
            now,
            now + DAY_MS if expires_ms is None else expires_ms,
            secret_hash(secret),
            revoked_ms=now if revoked else None,
        )
        return compose(key_id, secret)


def twin_access(
    keys: InMemoryApiKeys | None = None,
    *,
    limits: RateLimits | None = None,
    limiter: RateLimiter | None = None,
    oidc: JwksVerifier | None = None,
) -> Access:
    """The access check on twins: API keys in memory, desktop tokens signed with SECRET,
    OIDC as given (none: agent JWTs are refused), a generous in-memory rate limit."""
    return Access(
        (
            ApiKeyVerifier(keys if keys is not None else TwinApiKeys()),
            DesktopTokenVerifier(SECRET),
            OidcVerifier(oidc),
        ),
        (),
        limiter or InMemoryRateLimiter(),
        limits or RateLimits(RateLimit(1000.0, 10_000)),
    )


def keys_of(deps: WebDeps) -> TwinApiKeys:
    """The API key twin of deps built by twin_deps (to mint credentials)."""
    for verifier in deps.access.bearers:
        if isinstance(verifier, ApiKeyVerifier) and isinstance(verifier.store, TwinApiKeys):
            return verifier.store
    raise LookupError("these deps have no TwinApiKeys")


def bearer(
    deps: WebDeps, tenant: str = "demo", scopes: Iterable[str] = (TIMELINE_READ,)
) -> dict[str, str]:
    """An Authorization header with a fresh key of `tenant` carrying `scopes`."""
    return {"Authorization": f"Bearer {keys_of(deps).mint(tenant, scopes)}"}


class AlwaysReady:
    """The readiness twin: the store always answers."""

    async def ping(self) -> bool:
        return True


def tokenize(tenant: str, raw: str) -> Party:
    """A resolver twin: any identifier is a phone party of its own."""
    return Party(tenant, f"tok-{raw}", "phone")


def twin_desk(
    *,
    crm: str | None = None,
    adapters: Mapping[str, CrmAdapter] | None = None,
    schemas: ProfileConfig | None = None,
    layouts: LayoutConfig | None = None,
    crm_timeout_seconds: float = 4.0,
) -> ProfileDesk:
    """The desktop's profile side on twins: in-memory directory and search index, the
    tenant configs given, `crm` as every tenant's CRM with these adapters."""
    return ProfileDesk(
        profiles=InMemoryProfileDirectory(),
        search=InMemoryProfileSearchIndex(),
        pepper=TWIN_PEPPER,
        region_for=lambda _tenant: "US",
        contacts_topic="t.c360.contacts.v1",
        crms=CrmDesk(CrmRouting(crm), adapters or {}),
        schemas=schemas or ProfileConfig(),
        layouts=layouts or LayoutConfig(),
        crm_timeout_seconds=crm_timeout_seconds,
    )


def twin_deps(
    query: QueryApi | None = None,
    *,
    clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    publisher: InMemoryPublisher | None = None,
    topic: InMemoryPopTopic | None = None,
    access: Access | None = None,
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
        twin_desk(),
    )
    ingest_config = IngestConfig(
        "t.c360.interactions.v1", "t.c360.dlq.v1", 1_048_576, "demo", IngestSettings(dev=True)
    )
    return WebDeps(
        query=query,
        store=AlwaysReady(),
        gateway=gateway,
        ingest=Ingest(ingest_config, publisher),
        access=access or twin_access(),
        closers=(),
    )
