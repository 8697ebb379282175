"""Redis client errors as callers classify them (code above the adapters imports no redis)."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

# A bare client error from an adapter that does not wrap its errors means the same as
# StoreUnavailable to a caller: the store cannot be reached now, retry later.
UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


def pool_exhausted(exc: BaseException) -> bool:
    """True when this process ran out of Redis connections (not a Redis outage)."""
    return isinstance(exc, MaxConnectionsError) or isinstance(exc.__cause__, MaxConnectionsError)
