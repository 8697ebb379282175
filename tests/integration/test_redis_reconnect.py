"""Stale pooled Redis connections are retried on a fresh one, not reported as an outage."""

from __future__ import annotations

import pytest
import redis

from core.timeline import Retention, to_ms
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from tests.factories import T0, voice_call

pytestmark = pytest.mark.integration


async def test_a_dropped_connection_is_replaced_on_the_next_command(redis_url, redis_namespace):
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(redis_namespace), Retention())
    now = to_ms(T0)
    try:
        event = voice_call("ix-1")[0]
        assert await store.apply("acme", "tok", event, now) is not None
        killed = 0
        admin = redis.Redis.from_url(redis_url)
        try:
            # What a Redis restart or failover does to every pooled connection of a client.
            for conn in admin.client_list():
                if conn.get("name") == "" and int(conn["id"]) == await client.client_id():
                    killed += admin.client_kill_filter(_id=conn["id"])
        finally:
            admin.close()
        assert killed == 1
        # The very next command goes to the dead socket: it must be retried, not fail.
        assert await store.get("acme", "tok", "ix-1") is not None
    finally:
        await client.aclose()
