"""One contract for AgentTokenStore: the in-memory twin and Redis pass the same tests."""

from __future__ import annotations

import pytest

from core.crm.agent_auth import AgentTokens, PendingConnect
from infra.token_crypto import FernetSealer, new_key
from projections.memory_agent_tokens import InMemoryAgentTokens
from projections.redis_agent_tokens import RedisAgentTokens
from tests.contract.redis_backed import RedisBacked

KEY = new_key()
ID_KEY = b"contract-id-key"
AGENT = "alice@example.com"
TOKENS = AgentTokens("ACCESS-SECRET-1", "REFRESH-SECRET-1", 1_800.0,
                     "https://acme.my.salesforce.com", "005A")


class AgentTokenStoreContract:
    """What every AgentTokenStore must do."""

    def make_store(self, keys: tuple[str, ...] = (KEY,)):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_tokens_read_back_per_tenant_agent_and_crm(self):
        store = self.make_store()
        await store.put("acme", AGENT, "salesforce", TOKENS)
        assert await store.get("acme", AGENT, "salesforce") == TOKENS
        assert await store.get("acme", AGENT, "hubspot") is None
        assert await store.get("acme", "bob@example.com", "salesforce") is None
        assert await store.get("beta", AGENT, "salesforce") is None

    async def test_put_replaces_and_connected_lists_crms(self):
        store = self.make_store()
        await store.put("acme", AGENT, "salesforce", TOKENS)
        await store.put("acme", AGENT, "hubspot", TOKENS)
        newer = AgentTokens("ACCESS-2", "REFRESH-2", None, None, None)
        await store.put("acme", AGENT, "salesforce", newer)
        assert await store.get("acme", AGENT, "salesforce") == newer
        assert await store.connected("acme", AGENT) == {"salesforce", "hubspot"}
        assert await store.connected("acme", "nobody") == frozenset()

    async def test_delete_is_idempotent(self):
        store = self.make_store()
        await store.put("acme", AGENT, "salesforce", TOKENS)
        assert await store.delete("acme", AGENT, "salesforce") is True
        assert await store.delete("acme", AGENT, "salesforce") is False
        assert await store.get("acme", AGENT, "salesforce") is None
        assert await store.connected("acme", AGENT) == frozenset()

    async def test_a_connect_attempt_is_taken_once(self):
        store = self.make_store()
        pending = PendingConnect("acme", AGENT, "zendesk", "verifier-secret")
        await store.begin("nonce-1", pending, 60)
        assert await store.take("nonce-1") == pending
        assert await store.take("nonce-1") is None
        assert await store.take("never") is None

    async def test_records_no_key_opens_count_as_not_connected(self):
        """A retired key: the record is dropped, never an error."""
        old = self.make_store()
        await old.put("acme", AGENT, "salesforce", TOKENS)
        rotated = self.make_store((new_key(),))
        assert await rotated.get("acme", AGENT, "salesforce") is None
        assert await rotated.connected("acme", AGENT) == frozenset()

    async def test_key_rotation_keeps_old_records_readable(self):
        old = self.make_store()
        await old.put("acme", AGENT, "salesforce", TOKENS)
        both = self.make_store((new_key(), KEY))
        assert await both.get("acme", AGENT, "salesforce") == TOKENS


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class TestInMemoryAgentTokens(AgentTokenStoreContract):
    """The twin (one backing dict per test, shared by every store it makes)."""

    @pytest.fixture(autouse=True)
    def _shared(self):
        self.shared: dict = {}
        self.clock = _Clock()

    def make_store(self, keys=(KEY,)):
        store = InMemoryAgentTokens(FernetSealer(keys), ID_KEY, self.clock)
        store.tokens = self.shared.setdefault("tokens", {})
        store.attempts = self.shared.setdefault("attempts", {})
        return store

    async def test_an_attempt_expires(self):
        store = self.make_store()
        await store.begin("n", PendingConnect("acme", AGENT, "zoho"), 60)
        self.clock.now = 61.0
        assert await store.take("n") is None


@pytest.mark.integration
class TestRedisAgentTokens(RedisBacked, AgentTokenStoreContract):
    """The Redis adapter on a real redis-server."""

    def make_store(self, keys=(KEY,)):
        return RedisAgentTokens(self.client(), self.keys(), FernetSealer(keys), ID_KEY)

    def keys(self):
        from projections.keys import Keys  # noqa: PLC0415

        return Keys(self.namespace)

    async def test_nothing_readable_at_rest(self):
        """Values are sealed; keys carry neither the agent id nor a token; the attempt
        expires in Redis (TTL)."""
        store = self.make_store()
        await store.put("acme", AGENT, "salesforce", TOKENS)
        await store.begin("n1", PendingConnect("acme", AGENT, "zendesk", "VERIFIER"), 60)
        client = self.client()
        found = [k async for k in client.scan_iter(f"{self.namespace}:*")]
        assert found
        for key in found:
            assert b"alice" not in key and b"example" not in key
            raw = (await client.hgetall(key) if await client.type(key) == b"hash"
                   else {b"": await client.get(key)})
            for value in raw.values():
                assert b"SECRET" not in value and b"VERIFIER" not in value
                assert b"alice" not in value
        ttl = await client.ttl(self.keys().crm_connect_attempt("n1"))
        assert 0 < ttl <= 60
