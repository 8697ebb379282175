"""Fail fast when a tool cannot reach the broker or Redis: a bounded wait, one sentence."""

from __future__ import annotations

import asyncio
import sys

from redis.exceptions import RedisError

from c360.kafka_admin import broker_ready
from infra.kafka_config import Brokers, endpoint_of
from infra.settings_streams import ToolSettings
from projections.redis_client import redis_client

# The exit code of a tool that could not reach its broker or Redis (2 is a usage error).
UNREACHABLE = 3
_HINT = "is the stack running? (`c360 dev up`, or set {var})"


def timeout_seconds() -> float:
    """The bounded wait, C360_CONNECT_TIMEOUT_SECONDS (default 5)."""
    return ToolSettings.from_env().connect_timeout_seconds


def require_kafka(brokers: Brokers, timeout: float | None = None) -> None:
    """Return when the broker answers a metadata request; else say so and exit 3."""
    bootstrap = endpoint_of(brokers).bootstrap
    if not broker_ready(brokers, timeout or timeout_seconds()):
        _fail(
            f"cannot reach the Kafka broker at {bootstrap}: "
            + _HINT.format(var="C360_KAFKA_BOOTSTRAP_SERVERS")
        )


def require_redis(url: str, timeout: float | None = None) -> None:
    """Return when Redis answers PING; else say so (without the URL's password) and exit 3."""
    wait = timeout or timeout_seconds()
    if not asyncio.run(_ping(url, wait)):
        _fail(
            f"cannot reach Redis at {_without_password(url)}: " + _HINT.format(var="C360_REDIS_URL")
        )


async def _ping(url: str, seconds: float) -> bool:
    client = redis_client(url, timeout_seconds=seconds)
    try:
        async with asyncio.timeout(seconds):
            return bool(await client.ping())
    except (RedisError, OSError, TimeoutError):
        return False
    finally:
        await client.aclose()


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = creds.partition(":")[0]
    return f"{scheme}://{user + '@' if user else ''}{host}"


def _fail(sentence: str) -> None:
    print(f"c360: {sentence}", file=sys.stderr)
    raise SystemExit(UNREACHABLE)
