"""c360 on a Redis that demands TLS (a CA made by the test) and an ACL user limited to c360's
key pattern: the adapters and a streams worker work; anything else is refused."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import redis

from core.api_keys import ApiKey
from core.errors import StoreUnavailable
from core.ports import Party
from core.rate_limits import RateLimit
from core.timeline import Retention, to_ms
from projections.keys import Keys
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client
from projections.redis_parties import RedisInteractionParties
from projections.redis_rate_limiter import RedisRateLimiter
from projections.redis_timeline import RedisTimelineStore
from schemas import codec
from schemas.topics import INTERACTIONS
from tests.factories import T0, voice_call
from tests.integration.stack import start_streams_worker, stop_worker, worker_env
from tests.redis_tls import PASSWORD, start_secure_redis

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory):
    server = start_secure_redis(tmp_path_factory.mktemp("redis-tls"))
    yield server
    server.process.terminate()
    server.process.wait(10)


async def test_the_adapters_work_over_tls_as_the_acl_user(secure_redis):
    client = redis_client(secure_redis.url())
    keys = Keys("c360t")
    try:
        store = RedisTimelineStore(client, keys, Retention())
        event = voice_call("ix-1")[0]
        assert await store.apply("acme", "tok", event, to_ms(T0)) is not None
        assert await store.get("acme", "tok", "ix-1") is not None
        parties = RedisInteractionParties(client, keys, 3600)
        party = Party("acme", "tok", "phone")
        await parties.claim_many([("ix-1", party)])
        assert await parties.lookup("acme", "ix-1") == party
        api_keys = RedisApiKeys(client, keys)
        await api_keys.put(ApiKey("0123456789abcdef", "acme", frozenset({"admin"}), "n", 0,
                                  1, "0" * 64))
        assert (await api_keys.revoke("0123456789abcdef", 5)).revoked_ms == 5
        assert await RedisRateLimiter(client, keys).acquire("k", RateLimit(1, 1)) == 0.0
    finally:
        await client.aclose()


def test_keys_outside_the_pattern_and_dangerous_commands_are_refused(secure_redis):
    client = redis.Redis.from_url(secure_redis.url())
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set("other-app:key", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.flushall()
    client.close()


async def test_no_tls_wrong_ca_or_wrong_password_cannot_connect(secure_redis):
    plain = f"redis://c360:{PASSWORD}@127.0.0.1:{secure_redis.port}/0"
    for url in (plain, secure_redis.url(ca=False), secure_redis.url(password="wrong")):
        client = redis_client(url, timeout_seconds=1)
        store = RedisTimelineStore(client, Keys("c360t"), Retention())
        with pytest.raises((StoreUnavailable, redis.RedisError)) as info:
            await store.get("acme", "tok", "ix-1")
        assert PASSWORD not in str(info.value)
        with contextlib.suppress(Exception):
            await client.aclose()


def test_a_streams_worker_projects_over_tls_and_never_logs_the_password(
    secure_redis, kafka_bootstrap, topic_prefix, kafka_producer, tmp_path
):
    env = worker_env(kafka_bootstrap, secure_redis.url(), topic_prefix, "sec")
    namespace = env["C360_KEY_NAMESPACE"]
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = start_streams_worker(env, log, tmp_path)
        try:
            for event in voice_call("ix-tls"):
                kafka_producer.produce(topic_prefix + INTERACTIONS, key=b"ix-tls",
                                       value=codec.encode(event))
            kafka_producer.flush(10)
            admin = redis.Redis.from_url(secure_redis.url())
            deadline = time.monotonic() + 90
            found: list[bytes] = []
            while not found and time.monotonic() < deadline:
                found = list(admin.scan_iter(match=f"{namespace}:*:tx"))
                time.sleep(0.5)
            admin.close()
            assert found, log_path.read_text()[-3000:]
        finally:
            stop_worker(worker)
    assert PASSWORD not in log_path.read_text()


def test_secure_redis_fixture_is_really_tls_only(secure_redis):
    async def plain_ping():
        reader, writer = await asyncio.open_connection("127.0.0.1", secure_redis.port)
        writer.write(b"PING\r\n")
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(100), 2)
        except (TimeoutError, ConnectionResetError):
            return b""
        finally:
            writer.close()

    assert b"PONG" not in asyncio.run(plain_ping())
