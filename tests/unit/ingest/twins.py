"""The ingest route behind web.access as the service mounts it, on twins (keys, rate limits)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from connectors.crm.webhook_signature import sign
from connectors.sources.ingest_auth import ingest_verifiers
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import OPERATIONS, Ingest, add_routes
from core.access import InvalidCredential, Principal
from core.api_keys import ApiKey, InvalidKey, compose, secret_hash, split, verify
from core.rate_limits import RateLimits
from projections.memory_api_keys import InMemoryApiKeys
from projections.memory_rate_limiter import InMemoryRateLimiter
from web.access import Access, access_middleware

DAY_MS = 86_400_000


class ApiKeyVerifier:
    """c360k_ keys against a key store (the twin of the service's verifier)."""

    def __init__(self, store: InMemoryApiKeys) -> None:
        self.store = store

    async def verify(self, token: str) -> Principal | None:
        try:
            key_id, secret = split(token)
        except InvalidKey:
            return None
        try:
            return verify(await self.store.get(key_id), secret, int(time.time() * 1000))
        except InvalidKey as exc:
            raise InvalidCredential(str(exc)) from exc


async def api_key(store: InMemoryApiKeys, key_id: str, tenant: str, *scopes: str) -> str:
    """Store a key of `tenant` with `scopes` (id: 16 hex) and return the presented string."""
    secret = (key_id * 3)[:43]
    now = int(time.time() * 1000)
    record = ApiKey(
        key_id, tenant, frozenset(scopes), "test", now, now + DAY_MS, secret_hash(secret)
    )
    await store.put(record)
    return compose(key_id, secret)


def signed_headers(
    secret: str, body: bytes, tenant: str, at: float | None = None
) -> dict[str, str]:
    """X-C360-Signature of `body` (now, or `at`) and the tenant it claims."""
    stamp = int(time.time() if at is None else at)
    return {"X-C360-Signature": sign(secret, body, stamp), "X-C360-Tenant": tenant}


def ingest_app(
    ingest: Ingest,
    auth: IngestSettings,
    *,
    keys: InMemoryApiKeys | None = None,
    limits: RateLimits | None = None,
    client_max_size: int = 2_000_000,
    default_tenant: str = "demo",
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The app the service serves ingest with: web.access (API keys + the ingest verifiers,
    an in-memory rate limiter) in front of the route."""
    bearers, signed = ingest_verifiers(auth, default_tenant, clock)
    access = Access(
        (ApiKeyVerifier(keys or InMemoryApiKeys()), *bearers),
        signed,
        InMemoryRateLimiter(),
        limits or RateLimits(),
    )
    middleware: Any = access_middleware(access, OPERATIONS)
    app = web.Application(client_max_size=client_max_size, middlewares=[middleware])
    add_routes(app, ingest)
    return app
