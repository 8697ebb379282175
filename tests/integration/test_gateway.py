"""Desktop gateway on the real broker: per-agent delivery, auth, resume (disconnect, restart)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import Producer

from connectors.gateway import auth
from connectors.gateway.kafka_feed import KafkaPopFeed
from connectors.gateway.pops import Decoder
from connectors.gateway.web import add_routes
from infra.kafka_config import KafkaEndpoint
from schemas import codec
from schemas.records import AuditRecorded, DesktopActionTaken
from schemas.topics import AUDIT, DESKTOP, SCREENPOPS
from streams.settings import StreamSettings
from tests.gateway_helpers import pop, pop_key, read_events, wait_connected
from tests.kafka_helpers import Received, produce_sync
from web.bootstrap import build_gateway

pytestmark = pytest.mark.integration
SECRET = "integration-gateway-secret-123"


def token(agent: str, tenant: str = "demo") -> str:
    """A valid token for the agent."""
    return auth.issue(SECRET.encode(), tenant, agent, time.time(), 600)


@asynccontextmanager
async def gateway(
    bootstrap: str, prefix: str, decode: Decoder | None = None, **env: str
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """An app with the Kafka-backed gateway mounted, as web.bootstrap builds it (optionally
    with another decoder in its live feed)."""
    settings = StreamSettings.from_env({"C360_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                                        "C360_TOPIC_PREFIX": prefix,
                                        "C360_PII_PEPPER": "integration-pepper"})
    gw = build_gateway(settings, {"C360_GATEWAY_SECRET": SECRET, **env})
    if decode is not None:
        feed = KafkaPopFeed(KafkaEndpoint(bootstrap), prefix + SCREENPOPS, decode, 0)
        gw = replace(gw, feed=feed)
    app = web.Application()
    add_routes(app, gw)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def publish(kafka_producer: Producer, topic_prefix: str) -> Callable[..., None]:
    """publish(agent, iid=...): a ScreenPopRequested to the real screen-pop topic."""

    def send(agent: str, **kw: Any) -> None:
        record = pop(agent, **kw)
        produce_sync(kafka_producer, topic_prefix + SCREENPOPS, codec.encode(record),
                     pop_key(record))

    return send


async def open_stream(
    client: TestClient[web.Request, web.Application], agent: str, last: str | None = None
) -> ClientResponse:
    """Connect an agent's stream and wait until it is subscribed."""
    headers = {"Last-Event-ID": last} if last else {}
    resp = await client.get("/v1/desktop/stream", params={"token": token(agent)},
                            headers=headers)
    assert resp.status == 200
    await wait_connected(resp)
    return resp


async def test_pop_reaches_its_agent_only(
    kafka_bootstrap: str, topic_prefix: str, publish: Callable[..., None]
) -> None:
    """A pop for agent A reaches A's stream; B's stream gets B's next pop, never A's."""
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        a = await open_stream(client, "agent-a")
        b = await open_stream(client, "agent-b")
        publish("agent-a", iid="ix-for-a")
        publish("agent-b", iid="ix-for-b")
        [got_a] = await read_events(a, 1)
        [got_b] = await read_events(b, 1)
        assert got_a.json()["interaction_id"] == "ix-for-a"
        assert got_a.json()["agent_id"] == "agent-a"
        assert got_b.json()["interaction_id"] == "ix-for-b"
        partition, offset = (got_a.id or "").split(":")
        assert int(partition) >= 0 and int(offset) >= 0


async def test_an_agent_never_receives_another_agents_or_another_tenants_pops(
    kafka_bootstrap: str, topic_prefix: str, publish: Callable[..., None]
) -> None:
    """agent-1 of demo gets its own pop only: not agent-2's, and not the pop of agent-1 of
    tenant acme (same agent id, another tenant), which reaches that agent's stream."""
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        mine = await open_stream(client, "agent-1")
        resp = await client.get("/v1/desktop/stream", params={"token": token("agent-1", "acme")})
        assert resp.status == 200
        await wait_connected(resp)
        publish("agent-2", iid="ix-agent-2")
        publish("agent-1", tenant="acme", iid="ix-acme-agent-1")
        publish("agent-1", iid="ix-demo-agent-1")
        [theirs] = await read_events(resp, 1)
        assert theirs.json()["interaction_id"] == "ix-acme-agent-1"
        [got] = await read_events(mine, 1)
        assert got.json()["interaction_id"] == "ix-demo-agent-1"
        # Every pop was delivered by now (acme's reached its agent): nothing else comes.
        with pytest.raises(TimeoutError):
            await read_events(mine, 1, timeout=3.0)


async def test_wrong_tokens(kafka_bootstrap: str, topic_prefix: str) -> None:
    """Another secret's or an expired token is 401; a token for another agent/tenant is 403."""
    foreign = auth.issue(b"some-other-secret-xyz", "demo", "agent-a", time.time(), 600)
    expired = auth.issue(SECRET.encode(), "demo", "agent-a", time.time() - 1000, 600)
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        for params, status in (
            ({"token": foreign}, 401),
            ({"token": expired}, 401),
            ({}, 401),
            ({"token": token("agent-b"), "agent": "agent-a"}, 403),
            ({"token": token("agent-a", tenant="acme"), "tenant": "demo"}, 403),
        ):
            resp = await client.get("/v1/desktop/stream", params=params)
            assert resp.status == status, params
        action = await client.post("/v1/desktop/actions", json={"action": "add_note"},
                                   headers={"Authorization": "Bearer " + foreign})
        assert action.status == 401


async def test_reconnect_gets_missed_pops_exactly_once(
    kafka_bootstrap: str, topic_prefix: str, publish: Callable[..., None]
) -> None:
    """Disconnect, miss two pops, reconnect with Last-Event-ID: those two, then live, once."""
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        first = await open_stream(client, "agent-a")
        other_tab = await open_stream(client, "agent-a")
        publish("agent-a", iid="ix-1")
        [seen] = await read_events(first, 1)
        first.close()
        publish("agent-a", iid="ix-2")
        publish("agent-b", iid="ix-b")
        publish("agent-a", iid="ix-3")
        # once the agent's other tab saw them, the hub holds them: the resume is from its buffer
        assert len(await read_events(other_tab, 3)) == 3
        again = await open_stream(client, "agent-a", last=seen.id)
        missed = await read_events(again, 2)
        publish("agent-a", iid="ix-4")
        [live] = await read_events(again, 1)
        got = [e.json()["interaction_id"] for e in [*missed, live]]
        assert got == ["ix-2", "ix-3", "ix-4"]


async def test_resume_after_gateway_restart_rereads_kafka(
    kafka_bootstrap: str, topic_prefix: str, publish: Callable[..., None]
) -> None:
    """Pops published while the gateway was down come back by offset after its restart."""
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        stream = await open_stream(client, "agent-a")
        publish("agent-a", iid="before")
        [seen] = await read_events(stream, 1)
    publish("agent-a", iid="down-1")
    publish("agent-a", iid="down-2")
    # warm start 0: the new gateway's buffer is empty, so only a Kafka re-read can resume
    async with gateway(kafka_bootstrap, topic_prefix, C360_GATEWAY_WARM_RECORDS="0") as client:
        again = await open_stream(client, "agent-a", last=seen.id)
        missed = await read_events(again, 2)
        publish("agent-a", iid="after")
        [live] = await read_events(again, 1)
    assert [e.json()["interaction_id"] for e in [*missed, live]] == ["down-1", "down-2", "after"]


async def test_action_lands_on_the_desktop_topic(
    kafka_bootstrap: str, topic_prefix: str, consume_until: Callable[..., list[Received]]
) -> None:
    """POST /v1/desktop/actions -> DesktopActionTaken for the token's agent on c360.desktop.v1."""
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        resp = await client.post(
            "/v1/desktop/actions", headers={"Authorization": "Bearer " + token("agent-a")},
            json={"action": "relink", "interaction_id": "ix-9", "profile_id": "p-2"})
        assert resp.status == 202
        event_id = (await resp.json())["event_id"]
    [received] = consume_until(topic_prefix + DESKTOP)
    record = codec.decode(received.value or b"")
    assert isinstance(record, DesktopActionTaken)
    assert (record.event_id, record.agent_id, record.tenant_id) == (event_id, "agent-a", "demo")
    assert (record.action, record.interaction_id, record.profile_id) == ("relink", "ix-9", "p-2")
    assert received.key == b"ix-9"


async def test_a_relink_is_on_the_audit_trail_once_without_identifiers(
    kafka_bootstrap: str, topic_prefix: str, consume_until: Callable[..., list[Received]]
) -> None:
    """A relink (retried with the same client_action_id) and a note: exactly one AuditRecorded
    on c360.audit.v1, for the agent and interaction, same id as the retry; a profile id that
    looks like a phone number is withheld from the trail's bytes."""
    phone = "+44 20 7946 0123"
    body = {"action": "relink", "interaction_id": "ix-9", "profile_id": phone,
            "client_action_id": "click-1"}
    headers = {"Authorization": "Bearer " + token("agent-a")}
    async with gateway(kafka_bootstrap, topic_prefix) as client:
        for _ in range(2):
            resp = await client.post("/v1/desktop/actions", headers=headers, json=body)
            assert resp.status == 202
        event_id = (await resp.json())["event_id"]
        note = {"action": "add_note", "interaction_id": "ix-9", "text": "hi"}
        assert (await client.post("/v1/desktop/actions", headers=headers, json=note)).status == 202
    assert len(consume_until(topic_prefix + DESKTOP, lambda rs: len(rs) >= 3)) == 3
    got = consume_until(topic_prefix + AUDIT, lambda rs: len(rs) > 2, 5)
    assert len(got) == 2  # the retried click, published again: one event id, deduplicated
    records = [codec.decode(r.value or b"") for r in got]
    assert all(isinstance(r, AuditRecorded) for r in records)
    assert len({r.event_id for r in records}) == 1
    record = records[0]
    assert (record.tenant_id, record.actor_kind, record.actor, record.action, record.target,
            record.outcome) == ("demo", "agent", "agent-a", "relink", "ix-9", "ok")
    assert record.details == {"action_event_id": event_id, "profile_id": "withheld"}
    for received in got:
        raw = (received.value or b"") + (received.key or b"")
        assert received.key == b"demo"
        assert phone.encode() not in raw and b"2079460123" not in raw


async def test_feed_failure_resumes_without_losing_the_pop(
    kafka_bootstrap: str, topic_prefix: str, publish: Callable[..., None]
) -> None:
    """The live feed's client fails on a pop (here: its decoder); a new client resumes at
    that offset, so the pop still arrives, once."""
    failures = ["decoder crashed"]

    def flaky(data: bytes) -> Any:
        if failures:
            raise ValueError(failures.pop())  # an error the feed does not expect
        return codec.decode(data)

    async with gateway(kafka_bootstrap, topic_prefix, decode=flaky) as client:
        stream = await open_stream(client, "agent-a")
        publish("agent-a", iid="ix-survives")
        publish("agent-a", iid="ix-next")
        got = await read_events(stream, 2)
    assert failures == []
    assert [e.json()["interaction_id"] for e in got] == ["ix-survives", "ix-next"]
