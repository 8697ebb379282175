"""One contract for ApiKeyStore: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import pytest

from core.api_keys import ApiKey, InvalidKey, secret_hash, verify
from projections.keys import Keys
from projections.memory_api_keys import InMemoryApiKeys
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client

SECRET = "s" * 43


def key(key_id: str = "0123456789abcdef", tenant: str = "acme", **kw: object) -> ApiKey:
    fields = {
        "key_id": key_id, "tenant": tenant, "scopes": frozenset({"timeline:read"}),
        "name": "reader", "created_ms": 1_000, "expires_ms": 10_000,
        "secret_sha256": secret_hash(SECRET), **kw,
    }
    return ApiKey(**fields)  # type: ignore[arg-type]


class ApiKeyStoreContract:
    """What every ApiKeyStore must do."""

    def make_store(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_a_record_reads_back_and_verifies(self):
        store = self.make_store()
        await store.put(key())
        got = await store.get("0123456789abcdef")
        assert got == key()
        assert verify(got, SECRET, 2_000).tenant == "acme"
        assert await store.get("ffffffffffffffff") is None

    async def test_listing_returns_every_record(self):
        store = self.make_store()
        await store.put(key("0000000000000002", "beta"))
        await store.put(key("0000000000000001"))
        assert [k.key_id for k in await store.all()] == ["0000000000000001", "0000000000000002"]

    async def test_revocation_is_idempotent_and_stops_verification(self):
        store = self.make_store()
        await store.put(key())
        first = await store.revoke("0123456789abcdef", 3_000)
        again = await store.revoke("0123456789abcdef", 4_000)
        assert first is not None and first.revoked_ms == 3_000
        assert again is not None and again.revoked_ms == 3_000
        with pytest.raises(InvalidKey, match="revoked"):
            verify(await store.get("0123456789abcdef"), SECRET, 3_500)
        assert await store.revoke("ffffffffffffffff", 3_000) is None

    async def test_the_secret_is_never_stored(self):
        store = self.make_store()
        await store.put(key())
        assert SECRET not in repr(await store.all())


class TestInMemoryApiKeys(ApiKeyStoreContract):
    """The twin."""

    def make_store(self):
        return InMemoryApiKeys()


@pytest.mark.integration
class TestRedisApiKeys(ApiKeyStoreContract):
    """The Redis adapter on a real redis-server."""

    @pytest.fixture(autouse=True)
    def _redis(self, redis_url, redis_namespace):
        self.redis_url, self.namespace = redis_url, redis_namespace

    def make_store(self):
        return RedisApiKeys(redis_client(self.redis_url), Keys(self.namespace))

    async def test_nothing_secret_in_redis(self):
        store = self.make_store()
        await store.put(key())
        client = redis_client(self.redis_url)
        raw = await client.get(Keys(self.namespace).api_key("0123456789abcdef"))
        assert SECRET.encode() not in raw
