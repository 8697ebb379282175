"""The cached read path on real Redis: same entries, same bytes on the wire, clear 503s."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.query import TimelineQuery, decode_cursor, encode_cursor
from core.timeline import Retention, to_ms
from core.view import describe
from infra.settings_web import QuerySettings
from projections.entry_cache import EntryCache
from projections.keys import Keys
from projections.reads import ReadModel, Scope, timeline_page
from projections.redis_client import redis_client
from projections.redis_timeline import RedisTimelineStore
from projections.redis_timeline_reads import CachedRedisTimeline
from schemas.records import CHANNELS, InteractionAnalyzed, InteractionOffered
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, eid, interaction_events, voice_call
from tests.web_twins import bearer, twin_deps
from web.app import create_app
from web.bootstrap import build_query_api, make_resolver
from web.read_api import ReadApi
from web.read_routes import QUERY_API, QueryApi

pytestmark = pytest.mark.integration
NOW = to_ms(T0 + timedelta(hours=12))


def _settings(redis_url: str, namespace: str) -> StreamSettings:
    return StreamSettings.from_env(
        {"C360_ENV": "dev", "C360_REDIS_URL": redis_url, "C360_KEY_NAMESPACE": namespace}
    )


def _tied_and_mixed() -> list[Any]:
    """Calls (some analysed, one a campaign call), emails, and three calls that start in the
    same millisecond, so a page boundary falls inside a tie."""
    events: list[Any] = []
    for n in range(8):
        events += voice_call(f"call-{n}", tenant="demo", start=T0 - timedelta(days=3 * n))
    for iid in ("tie-b", "tie-a", "tie-c"):
        events += voice_call(iid, tenant="demo", start=T0 - timedelta(days=10))
    events.append(
        InteractionAnalyzed(
            eid(), "demo", T0, "call-0", "voice", sentiment=0.4, ai_title="Caf\u00e9 \u2615 refund"
        )
    )
    for n in range(3):
        events.append(
            InteractionOffered(
                eid(),
                "demo",
                T0 - timedelta(days=1 + 4 * n),
                f"mail-{n}",
                "email",
                "outbound",
                "help@acme.test",
                "pat@example.com",
                subject=f'Quote "{n}" <b>',
            )
        )
    return events


@pytest.fixture
async def served(redis_url: str, redis_namespace: str) -> AsyncIterator[tuple[Any, ...]]:
    """The read routes as web.service builds them (web.bootstrap), on a seeded namespace."""
    settings = _settings(redis_url, redis_namespace)
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(redis_namespace), Retention())
    resolve = make_resolver(settings)
    token = resolve("demo", CALLER).token
    for event in _tied_and_mixed():
        await store.apply("demo", token, event, NOW)
    clock = [NOW]
    api, close = build_query_api(settings, QuerySettings(), lambda: clock[0])
    deps = twin_deps(api)
    app = create_app(settings, deps)
    async with TestClient(TestServer(app), headers=bearer(deps, settings.default_tenant)) as http:
        yield http, app, store, token, clock
    await close()
    await client.aclose()


async def _expected_body(store: RedisTimelineStore, token: str, query: TimelineQuery, now: int):
    """The body as the API wrote it before the cache: json.dumps of the whole dict tree,
    with entries read and decoded by RedisTimelineStore."""
    got = await timeline_page(ReadModel(store), "demo", Scope((token,)), query, now)
    return json.dumps(
        {
            "tenant": "demo",
            "party": {"kind": "phone", "token": token},
            "channels": list(query.channels),
            "filters": {"campaign": None, "direction": None, "period_months": None},
            "items": [describe(entry, now) for entry in got.entries],
            "next_cursor": encode_cursor(got.next_cursor) if got.next_cursor else None,
            "next_before": got.next_cursor.started_ms if got.next_cursor else None,
        }
    )


async def test_pages_are_byte_identical_to_the_uncached_rendering(served):
    """Every page of a paged walk, first read and cached re-read, an hour later too: the
    exact bytes json.dumps of the old dict tree gave (ties, non-ASCII, quotes included)."""
    http, _, store, token, clock = served
    for now in (NOW, NOW + 3_600_000):
        clock[0] = now
        query, cursor = TimelineQuery(CHANNELS, limit=4), None
        while True:
            params = {"identifier": CALLER, "limit": "4", **({"cursor": cursor} if cursor else {})}
            for _ in range(2):  # a miss, then a hit
                resp = await http.get("/v1/timeline", params=params)
                assert resp.status == 200
                assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
                assert await resp.text() == await _expected_body(store, token, query, now)
            cursor = json.loads(await resp.text())["next_cursor"]
            if cursor is None:
                break
            query = replace(query, cursor=decode_cursor(cursor))


async def test_each_stored_entry_is_decoded_once_until_it_changes(served):
    """Two reads of a 14-interaction timeline decode 14 entries; a new event for one of them
    decodes that one again and the page shows it."""
    http, app, store, token, _ = served
    cache = app[QUERY_API].cache
    for _ in range(2):
        assert (await http.get("/v1/timeline", params={"identifier": CALLER})).status == 200
    assert cache.misses == 14
    assert cache.hits == 14
    await store.apply(
        "demo",
        token,
        InteractionAnalyzed(eid(), "demo", T0, "call-1", "voice", ai_title="Moved house"),
        NOW,
    )
    body = await (await http.get("/v1/timeline", params={"identifier": CALLER})).json()
    assert cache.misses == 15
    assert {i["title"] for i in body["items"] if i["interaction_id"] == "call-1"} == {"Moved house"}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(interaction_events(clustered=True), min_size=1, max_size=25),
    st.integers(1, 4),
    st.sampled_from([None, -3, 0]),
)
async def test_cached_reads_return_what_the_store_reads_return(
    redis_url, redis_namespace, events, limit, before_days
):
    """Same entries, same order, for any limit and any page start (the script's ranking and
    cut agree with the store's)."""
    retention = Retention(max_entries=3, window_ms=90 * 86_400_000)
    client = redis_client(redis_url)
    keys = Keys(f"{redis_namespace}{uuid.uuid4().hex[:6]}")
    store = RedisTimelineStore(client, keys, retention)
    cached = CachedRedisTimeline(client, keys, retention, EntryCache(8))
    now = to_ms(T0)
    for event in events:
        await store.apply("t", "tok", event, now)
    before = None if before_days is None else now + before_days * 86_400_000
    for channels in (CHANNELS, ("voice",), ("chat", "email")):
        want = await store.read("t", "tok", channels, now, limit, before)
        assert await cached.read("t", "tok", channels, now, limit, before) == want
    for event in events:
        want_one = await store.get("t", "tok", event.interaction_id)
        assert await cached.get("t", "tok", event.interaction_id) == want_one
    await client.aclose()


async def test_reads_cut_inside_a_tie_like_the_store(redis_url, redis_namespace):
    """Three calls in one millisecond and a limit of 2: the same two, in the same order."""
    client = redis_client(redis_url)
    keys = Keys(redis_namespace)
    store = RedisTimelineStore(client, keys, Retention())
    cached = CachedRedisTimeline(client, keys, Retention(), EntryCache())
    for iid in ("tie-b", str(uuid.uuid4()), "tie-a", str(uuid.uuid4())):
        for event in voice_call(iid, tenant="demo", start=T0 - timedelta(days=1)):
            await store.apply("demo", "tok", event, NOW)
    for limit in (1, 2, 3, 4, 5):
        want = [e.interaction_id for e in await store.read("demo", "tok", CHANNELS, NOW, limit)]
        got = [e.interaction_id for e in await cached.read("demo", "tok", CHANNELS, NOW, limit)]
        assert got == want
        assert len(got) == min(limit, 4)
    await client.aclose()


@contextlib.asynccontextmanager
async def _silent_redis() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never answers (a stalled Redis)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


def _api_on(client: aioredis.Redis) -> TestClient:
    """A client of the service reading through `client` (each request with a key of "d")."""
    keys = Keys("c360x")
    cached = CachedRedisTimeline(client, keys, Retention(), EntryCache())
    settings = StreamSettings.from_env({"C360_ENV": "dev"})
    resolve = make_resolver(settings)
    deps = twin_deps(QueryApi(ReadModel(cached), ReadApi(resolve, lambda: NOW, "d")))
    return TestClient(TestServer(create_app(settings, deps)), headers=bearer(deps, "d"))


async def test_a_redis_timeout_is_store_unavailable_with_retry_after():
    """Redis accepts but never answers: 503 store_unavailable, Retry-After, not overloaded."""
    async with _silent_redis() as url:
        client = redis_client(url, timeout_seconds=0.3)
        async with _api_on(client) as http:
            resp = await http.get("/v1/timeline", params={"identifier": CALLER})
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "1"
            assert (await resp.json())["error"]["code"] == "store_unavailable"
        await client.aclose()


async def test_running_out_of_redis_connections_is_overloaded_not_an_outage():
    """One connection allowed and it is busy: the second read is 503 `overloaded` (this
    process is saturated), while the one holding the connection times out as
    store_unavailable."""
    async with _silent_redis() as url:
        client = aioredis.Redis.from_url(url, socket_timeout=1.0, max_connections=1)
        async with _api_on(client) as http:
            params = {"identifier": CALLER}
            first = asyncio.create_task(http.get("/v1/timeline", params=params))
            await asyncio.sleep(0.3)
            second = await http.get("/v1/timeline", params=params)
            assert second.status == 503
            assert (await second.json())["error"]["code"] == "overloaded"
            assert second.headers["Retry-After"] == "1"
            assert ((await first).status, (await (await first).json())["error"]["code"]) == (
                503,
                "store_unavailable",
            )
        await client.aclose()
