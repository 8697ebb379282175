"""Gateway HTTP surface on the in-memory topic twin: auth, stream, resume, actions, dev login."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from connectors.gateway import auth
from connectors.gateway.hub import Hub
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import Gateway, add_routes
from infra.kafka_producer import InMemoryPublisher, PublishFailed
from schemas import codec
from schemas.records import DesktopActionTaken
from tests.gateway_helpers import pop, pop_key, read_events, wait_connected
from tests.web_twins import twin_desk

SECRET = b"unit-test-secret-0123456789abcdef"  # 32+ bytes, as RFC 7518 asks of HS256
OTHER_SECRET = b"other-secret-0123456789abcdefghi"


class Env(SimpleNamespace):
    """The test's client, topic twin, publisher and gateway."""

    client: TestClient[web.Request, web.Application]
    topic: InMemoryPopTopic
    publisher: InMemoryPublisher
    gateway: Gateway

    def token(self, agent: str, tenant: str = "demo") -> str:
        return auth.issue(SECRET, tenant, agent, time.time(), 600)

    def publish(self, agent: str, tenant: str = "demo", **kw: Any) -> int:
        record = pop(agent, tenant=tenant, **kw)
        return self.topic.append(0, pop_key(record), codec.encode(record))


SETTINGS = GatewaySettings(secret=SECRET, dev=True, buffer_size=2, heartbeat_seconds=1)


@asynccontextmanager
async def serve(
    settings: GatewaySettings = SETTINGS, clock: Callable[[], float] = time.time,
    crm_menu: Any = None,
) -> AsyncIterator[Env]:
    """An app with only the gateway mounted, on the twins (dev mode on by default)."""
    config = GatewayConfig.from_settings(SimpleNamespace(
        kafka_bootstrap_servers="unused:1", topic_prefix="t.", default_tenant="demo"))
    topic, publisher = InMemoryPopTopic(partitions=2), InMemoryPublisher()
    gateway = Gateway(settings, config, Hub(2, 60_000, lambda: int(time.time() * 1000)),
                      topic, topic, publisher, twin_desk(), clock, crm_menu)
    app = web.Application()
    add_routes(app, gateway)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Env(client=client, topic=topic, publisher=publisher, gateway=gateway)
    finally:
        await client.close()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    """The gateway with the default test settings."""
    async with serve() as got:
        yield got


async def test_agent_gets_own_pop_not_anothers(env: Env) -> None:
    """A's stream gets A's pop; B's first event is B's own, published after A's."""
    a = await env.client.get("/v1/desktop/stream", params={"token": env.token("a")})
    b = await env.client.get(
        "/v1/desktop/stream", headers={"Authorization": "Bearer " + env.token("b")}
    )
    assert a.status == b.status == 200
    assert a.headers["Content-Type"].startswith("text/event-stream")
    await wait_connected(a)
    await wait_connected(b)
    env.publish("a", iid="ix-a")
    env.publish("b", iid="ix-b")
    [got_a] = await read_events(a, 1)
    [got_b] = await read_events(b, 1)
    assert (got_a.event, got_a.id, got_a.json()["interaction_id"]) == ("pop", "0:0", "ix-a")
    assert got_a.json()["type"] == "ScreenPopRequested"
    assert (got_b.id, got_b.json()["interaction_id"]) == ("0:1", "ix-b")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 401),
        ({"token": "garbage"}, 401),
        ({"token": auth.issue(OTHER_SECRET, "demo", "a", time.time(), 600)}, 401),
        ({"token": auth.issue(SECRET, "demo", "a", time.time() - 700, 600)}, 401),
        # Issued when the module is collected: valid for a day, so a long suite run cannot
        # expire them before this test runs (they would then be refused with 401).
        ({"token": auth.issue(SECRET, "demo", "a", time.time(), 86_400), "agent": "b"}, 403),
        ({"token": auth.issue(SECRET, "demo", "a", time.time(), 86_400), "tenant": "acme"}, 403),
    ],
)
async def test_stream_auth(env: Env, params: dict[str, str], status: int) -> None:
    """No/garbage/foreign/expired token -> 401; a token for someone else than asked -> 403."""
    resp = await env.client.get("/v1/desktop/stream", params=params)
    assert resp.status == status
    if status == 401:
        assert "Bearer" in resp.headers["WWW-Authenticate"]


async def test_reconnect_from_buffer_exactly_once(env: Env) -> None:
    """Last-Event-ID resumes with the pops missed while away, each once, then live."""
    first = await env.client.get("/v1/desktop/stream", params={"token": env.token("a")})
    await wait_connected(first)
    env.publish("a", iid="ix-1")
    [seen] = await read_events(first, 1)
    first.close()
    env.publish("a", iid="ix-2")
    env.publish("b", iid="ix-b")
    again = await env.client.get(
        "/v1/desktop/stream",
        params={"token": env.token("a")},
        headers={"Last-Event-ID": seen.id or ""},
    )
    [missed] = await read_events(again, 1)
    env.publish("a", iid="ix-3")
    [live] = await read_events(again, 1)
    assert [missed.json()["interaction_id"], live.json()["interaction_id"]] == ["ix-2", "ix-3"]
    assert env.topic.rereads == []


async def test_stream_ends_when_its_token_expires() -> None:
    """An open stream does not outlive its token: an `expired` event, then the end."""
    now = [1_000.0]
    async with serve(clock=lambda: now[0]) as env:
        token = auth.issue(SECRET, "demo", "a", 1_000.0, 60)
        resp = await env.client.get("/v1/desktop/stream", params={"token": token})
        await wait_connected(resp)
        env.publish("a", iid="ix-1")
        [live] = await read_events(resp, 1)
        assert live.event == "pop"
        now[0] = 1_061.0
        [expired] = await read_events(resp, 1)
        assert expired.event == "expired"
        assert await resp.content.read() == b""
        again = await env.client.get("/v1/desktop/stream", params={"token": token})
        assert again.status == 401


async def test_reconnect_beyond_the_buffer_rereads_the_log(env: Env) -> None:
    """When the buffer lost pops after the cursor, they come back from the log, once."""
    for n in range(5):
        env.publish("a", iid=f"ix-{n}")  # the buffer (size 2) keeps only ix-3 and ix-4
    resp = await env.client.get(
        "/v1/desktop/stream", params={"token": env.token("a"), "last_event_id": "0:1"}
    )
    got = await read_events(resp, 3)
    assert [e.json()["interaction_id"] for e in got] == ["ix-2", "ix-3", "ix-4"]
    assert [e.id for e in got] == ["0:2", "0:3", "0:4"]
    assert env.topic.rereads == [(0, 2, 5)]


async def test_reread_past_retention_sends_a_gap(env: Env) -> None:
    """A cursor older than what the log keeps gets what remains and a gap event."""
    for n in range(5):
        env.publish("a", iid=f"ix-{n}")
    env.topic.low[0] = 3  # retention removed offsets 0-2
    resp = await env.client.get(
        "/v1/desktop/stream", params={"token": env.token("a"), "last_event_id": "0:0"}
    )
    *pops, gap = await read_events(resp, 3)
    assert [e.json()["interaction_id"] for e in pops] == ["ix-3", "ix-4"]
    assert gap.event == "gap"


async def test_action_published_with_token_identity(env: Env) -> None:
    """POST /v1/desktop/actions publishes DesktopActionTaken keyed by interaction id."""
    resp = await env.client.post(
        "/v1/desktop/actions",
        headers={"Authorization": "Bearer " + env.token("a")},
        json={"action": "add_note", "interaction_id": "ix-1", "text": "called back"},
    )
    assert resp.status == 202
    [message] = env.publisher.messages
    record = codec.decode(message.value)
    assert isinstance(record, DesktopActionTaken)
    assert (message.topic, message.key) == ("t.c360.desktop.v1", b"ix-1")
    assert (record.agent_id, record.action, record.text) == ("a", "add_note", "called back")
    assert (await resp.json())["event_id"] == record.event_id


async def test_action_errors(env: Env) -> None:
    """Invalid body -> 400 with problems; no token -> 401; broker down -> 503."""
    headers = {"Authorization": "Bearer " + env.token("a")}
    bad = await env.client.post("/v1/desktop/actions", headers=headers, json={"action": "x"})
    assert bad.status == 400
    assert (await bad.json())["problems"]
    anon = await env.client.post("/v1/desktop/actions", json={})
    assert anon.status == 401
    env.publisher.fail = PublishFailed("down")
    down = await env.client.post(
        "/v1/desktop/actions",
        headers=headers,
        json={"action": "relink", "interaction_id": "i", "profile_id": "p"},
    )
    assert down.status == 503


async def test_dev_login_and_me(env: Env) -> None:
    """Dev mode lists demo agents and issues a token that /me accepts."""
    agents = await (await env.client.get("/v1/desktop/dev/agents")).json()
    assert agents["tenant"] == "demo"
    login = await env.client.post("/v1/desktop/dev/login", json={"agent": "agent-7"})
    token = (await login.json())["token"]
    me = await env.client.get("/v1/desktop/me", headers={"Authorization": "Bearer " + token})
    body = await me.json()
    assert body["agent"] == "agent-7"
    assert body["fresh_seconds"] == 120  # the panel's freshness window (the default)
    bad = await env.client.post("/v1/desktop/dev/login", json={"agent": "has space"})
    assert bad.status == 400
    deep = "[" * 100_000 + "]" * 100_000  # bounded depth: a 400, never a 500
    nested = await env.client.post("/v1/desktop/dev/login", data=deep)
    assert nested.status == 400


async def test_dev_login_absent_outside_dev() -> None:
    """Outside dev mode the login endpoints do not exist."""
    async with serve(GatewaySettings(secret=SECRET, dev=False)) as env:
        assert (await env.client.post("/v1/desktop/dev/login", json={"agent": "a"})).status == 404
        assert (await env.client.get("/v1/desktop/dev/agents")).status == 404


async def test_panel_is_served(env: Env) -> None:
    """The panel page is at `/`, `/panel` and `/desktop/` (no login needed to load it); its
    scripts and style are served."""
    for path in ("/", "/panel", "/desktop/", "/desktop"):
        page = await env.client.get(path)
        assert page.status == 200, path
        assert "panel.js" in await page.text()
    for asset in ("panel.js", "render.js", "insights.js", "recent.js", "search.js",
                  "profile_form.js", "crm.js", "panel.css"):
        assert (await env.client.get("/desktop/static/" + asset)).status == 200


async def test_a_fresh_stream_replays_an_old_ring_as_history_not_as_a_pop() -> None:
    """A pop rendered now for a call that rang before the freshness window (a backlog
    worked through) is replayed to a new panel as `history`, not as `pop`; a pop of a call
    ringing now goes out as `pop`. (Window 20 s here, the replay window 60 s.)"""
    async with serve(SETTINGS.model_copy(update={"fresh_seconds": 20})) as env:
        now = datetime.now(tz=UTC)
        env.publish("a", iid="ix-old", occurred_at=now, rang_at=now - timedelta(seconds=40))
        env.publish("a", iid="ix-new", occurred_at=now, rang_at=now - timedelta(seconds=1))
        resp = await env.client.get("/v1/desktop/stream", params={"token": env.token("a")})
        old, new = await read_events(resp, 2)
        assert (old.event, old.json()["interaction_id"]) == ("history", "ix-old")
        assert (new.event, new.json()["interaction_id"]) == ("pop", "ix-new")
        env.publish("a", iid="ix-late", occurred_at=now, rang_at=now - timedelta(minutes=3))
        [late] = await read_events(resp, 1)
        assert (late.event, late.id) == ("history", "0:2")  # live, but past the window: history


async def test_stream_framing_headers_and_heartbeat(env: Env) -> None:
    """The bytes docs/desktop.md shows: the retry preamble, `id`/`event`/`data` lines ended
    by LF, a `: ping` comment while idle; no-store, no proxy buffering."""
    resp = await env.client.get("/v1/desktop/stream", params={"token": env.token("a")})
    assert resp.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Accel-Buffering"] == "no"
    preamble = [await resp.content.readline() for _ in range(3)]
    assert preamble == [b"retry: 2000\n", b": connected\n", b"\n"]
    record = pop("a", iid="ix-1")
    env.topic.append(0, pop_key(record), codec.encode(record))
    frame = [await resp.content.readline() for _ in range(4)]
    assert frame[:2] == [b"id: 0:0\n", b"event: pop\n"]
    assert frame[2].startswith(b"data: {") and frame[2].endswith(b"}\n")
    assert frame[3] == b"\n"
    async with asyncio.timeout(5):  # heartbeat_seconds=1
        assert await resp.content.readline() == b": ping\n"


async def test_a_client_that_leaves_is_unsubscribed_without_a_pop(env: Env) -> None:
    """A client gone while nothing is due is noticed by the heartbeat and forgotten. Served
    as web.service serves it: aiohttp's default runner does not cancel the handler when the
    client leaves (the test client's server does), so the stream must notice by itself."""
    runner = web.AppRunner(env.client.app, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as session:
            resp = await session.get(
                f"http://127.0.0.1:{port}/v1/desktop/stream", params={"token": env.token("a")}
            )
            await wait_connected(resp)
            assert env.gateway.hub.subscriber_count("demo", "a") == 1
            resp.close()
        async with asyncio.timeout(10):
            while env.gateway.hub.subscriber_count("demo", "a"):
                await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()


async def test_service_shutdown_ends_the_stream(env: Env) -> None:
    """Closing the hub (service shutdown) ends every open stream."""
    resp = await env.client.get("/v1/desktop/stream", params={"token": env.token("a")})
    await wait_connected(resp)
    env.gateway.hub.close()
    async with asyncio.timeout(5):
        rest = await resp.content.read()
    assert b"event:" not in rest  # at most heartbeats, then the end
    assert env.gateway.hub.subscriber_count("demo", "a") == 0
