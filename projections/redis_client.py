"""Builds the asyncio Redis client (lazy: no connection until the first command)."""

from __future__ import annotations

import redis.asyncio as aioredis


def redis_client(url: str, *, timeout_seconds: float = 5.0) -> aioredis.Redis:
    """A client with bounded timeouts, so an outage surfaces as StoreUnavailable quickly
    instead of hanging an agent past Kafka's poll interval."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        health_check_interval=30,
    )
