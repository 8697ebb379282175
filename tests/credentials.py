"""Credentials for tests that call the real service: API keys in its Redis, desktop tokens."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from c360.keys import new_key
from connectors.gateway import auth
from connectors.gateway.settings import DEV_SECRET
from core.access import TIMELINE_READ
from core.api_keys import ApiKey
from projections.keys import Keys
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client

DAY_MS = 86_400_000


async def store_key(redis_url: str, namespace: str, record: ApiKey) -> None:
    """Store `record` where a service on `namespace` looks keys up (as `c360 keys create`)."""
    client = redis_client(redis_url)
    try:
        await RedisApiKeys(client, Keys(namespace)).put(record)
    finally:
        await client.aclose()


async def redis_key(
    redis_url: str,
    namespace: str,
    tenant: str,
    scopes: Iterable[str] = (TIMELINE_READ,),
    ttl_ms: int = DAY_MS,
) -> str:
    """A new API key of `tenant` stored in that Redis namespace; the key string."""
    record, presented = new_key(tenant, list(scopes), "test", ttl_ms, "test")
    await store_key(redis_url, namespace, record)
    return presented


def redis_key_sync(
    redis_url: str, namespace: str, tenant: str, scopes: Iterable[str] = (TIMELINE_READ,)
) -> str:
    """redis_key from synchronous test code (no running event loop)."""
    return asyncio.run(redis_key(redis_url, namespace, tenant, scopes))


def desktop_token(tenant: str, agent: str = "reader", secret: str = DEV_SECRET) -> str:
    """A desktop token (timeline:read + desktop) of a dev-mode service (its published secret)."""
    return auth.issue(secret.encode(), tenant, agent, time.time(), 3600)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header carrying `token`."""
    return {"Authorization": f"Bearer {token}"}
