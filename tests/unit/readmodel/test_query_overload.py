"""Overload is answered at once as 503 `overloaded` + Retry-After, never as a store outage."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.errors import StoreUnavailable
from core.ports import Party
from core.timeline import InteractionEntry, to_ms
from infra.settings_web import QuerySettings, WebSettings
from projections.memory import InMemoryTimelineStore
from projections.reads import ReadModel
from streams.settings import StreamSettings
from tests.factories import T0, voice_call
from tests.web_twins import bearer, twin_deps
from web.app import create_app
from web.read_api import ReadApi
from web.read_routes import Gate, QueryApi

NOW = to_ms(T0 + timedelta(hours=1))


class HeldTimeline(InMemoryTimelineStore):
    """The in-memory twin whose reads wait until released (a slow store), or fail."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.waiting = 0
        self.fail = False

    async def read(
        self,
        tenant_id: str,
        token: str,
        channels: Sequence[str],
        now_ms: int,
        limit: int,
        before_ms: int | None = None,
    ) -> list[InteractionEntry]:
        if self.fail:
            raise StoreUnavailable("redis unavailable: TimeoutError")
        self.waiting += 1
        await self.release.wait()
        return await super().read(tenant_id, token, channels, now_ms, limit, before_ms)


def _resolve(tenant: str, raw: str) -> Party:
    return Party(tenant, f"tok-{raw}", "phone")


@pytest.fixture
async def held():
    """A query API over a held store with room for one read at a time."""
    store = HeldTimeline()
    for event in voice_call("ix-1"):
        await store.apply("acme", "tok-a", event, NOW)
    api = QueryApi(ReadModel(store), ReadApi(_resolve, lambda: NOW, "acme"), gate=Gate(1))
    deps = twin_deps(api)
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), deps)
    # Every read carries a key of tenant acme (the access check runs before the gate).
    async with TestClient(TestServer(app), headers=bearer(deps, "acme")) as http:
        yield http, store, api


async def test_a_read_past_the_in_flight_limit_is_refused_at_once(held):
    """Limit 1: while one read waits on the store, the next is answered 503 `overloaded`
    with Retry-After without touching the store; the first still completes."""
    http, store, api = held
    first = asyncio.create_task(http.get("/v1/timeline", params={"identifier": "a"}))
    while store.waiting == 0:
        await asyncio.sleep(0.01)
    refused = await http.get("/v1/timeline", params={"identifier": "a"})
    assert refused.status == 503
    assert refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "overloaded"
    assert store.waiting == 1
    store.release.set()
    answered = await first
    assert answered.status == 200
    assert [i["interaction_id"] for i in (await answered.json())["items"]] == ["ix-1"]
    assert (api.gate.active, api.gate.refused) == (0, 1)


async def test_the_limit_frees_up_after_answers_and_errors(held):
    """Answered and failed reads both give their place back: later reads are served."""
    http, store, api = held
    store.release.set()
    for _ in range(3):
        assert (await http.get("/v1/timeline", params={"identifier": "a"})).status == 200
    store.fail = True
    for _ in range(3):
        failed = await http.get("/v1/timeline", params={"identifier": "a"})
        assert failed.status == 503
        assert (await failed.json())["error"]["code"] == "store_unavailable"
        assert failed.headers["Retry-After"] == "1"
    assert api.gate.active == 0
    assert api.gate.refused == 0


def test_read_limits_come_from_the_environment():
    """Defaults, overrides, and a clear error for a non-positive or non-numeric value."""
    assert QuerySettings.from_env({}) == QuerySettings(max_inflight=64, cache_entries=10_000)
    got = QuerySettings.from_env({"C360_HTTP_MAX_INFLIGHT": "8", "C360_READ_CACHE_ENTRIES": "5"})
    assert got == QuerySettings(max_inflight=8, cache_entries=5)
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="C360_HTTP_MAX_INFLIGHT"):
            QuerySettings.from_env({"C360_HTTP_MAX_INFLIGHT": bad})


def test_several_processes_imply_a_shared_port():
    """C360_HTTP_PROCESSES > 1 turns SO_REUSEPORT on; 0 or junk is refused."""
    assert WebSettings.from_env({}) == WebSettings(processes=1, reuse_port=False)
    three = WebSettings.from_env({"C360_HTTP_PROCESSES": "3"})
    assert three == WebSettings(processes=3, reuse_port=True)
    assert WebSettings.from_env({"C360_HTTP_REUSE_PORT": "true"}).reuse_port
    for bad in ("0", "two", "-2"):
        with pytest.raises(ValueError, match="C360_HTTP_PROCESSES"):
            WebSettings.from_env({"C360_HTTP_PROCESSES": bad})
