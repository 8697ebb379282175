"""Builds the asyncio Redis client (lazy: no connection until the first command)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from projections.redis_autopipeline import AutoPipelineRedis

# A pooled connection that Redis dropped (restart, failover, idle timeout) fails on its
# next use; without a retry the first command on every stale connection surfaced as an
# outage. Two quick retries on a fresh connection absorb that; a real outage still fails
# within a bounded time and the caller's policy takes over (retry in place or 503).
# Every command we send is safe to repeat: reads, SET NX, and compare-and-set scripts.
_RETRIES = 2


def redis_client(
    url: str, *, timeout_seconds: float = 5.0, autopipeline: bool = False
) -> aioredis.Redis:
    """A client with bounded timeouts, so an outage surfaces as StoreUnavailable quickly
    instead of hanging an agent past Kafka's poll interval; stale pooled connections are
    health-checked (PING when idle for over a second) and retried on a new connection.
    `autopipeline`: commands issued in one loop turn share a round trip (redis_autopipeline)."""
    cls = AutoPipelineRedis if autopipeline else aioredis.Redis
    return cls.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=min(timeout_seconds, 2.0),
        health_check_interval=1,
        # Connection errors only: a timeout means Redis is there but not answering (paused,
        # overloaded), and retrying it would multiply the wait before the caller's policy
        # (retry in place, or 503 with Retry-After) can act.
        retry=Retry(
            ExponentialBackoff(cap=0.5, base=0.05),
            _RETRIES,
            supported_errors=(RedisConnectionError,),
        ),
        retry_on_timeout=False,
    )
