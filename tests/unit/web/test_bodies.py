"""Every documented model describes what its route really answers (create_app on twins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel

from connectors.gateway import web_models as gw
from connectors.sources import ingest_models as ingest
from core.timeline import to_ms
from infra.http_routes import AccessError
from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import InMemoryInteractionLinks, InMemoryProfileDirectory
from projections.reads import ReadModel
from schemas.canonical_json import to_json
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, voice_call
from tests.web_twins import TwinApiKeys, tokenize, twin_access, twin_deps
from web import app as service
from web import read_models as rm
from web.app import create_app
from web.read_api import ReadApi
from web.read_routes import QueryApi

NOW = to_ms(T0 + timedelta(hours=1))
Client = TestClient[web.Request, web.Application]
KEYS = TwinApiKeys()
READ = {"Authorization": "Bearer " + KEYS.mint("demo", ["timeline:read"])}
INGEST = {"Authorization": "Bearer " + KEYS.mint("demo", ["ingest:*"])}


@pytest.fixture
async def http() -> AsyncIterator[Client]:
    """create_app on twins, with two calls of CALLER (one a demo-tenant campaign call)."""
    store = InMemoryTimelineStore()
    for iid in ("call-1", "call-2"):
        for event in voice_call(iid, tenant="demo", start=T0 - timedelta(days=int(iid[-1]))):
            await store.apply("demo", tokenize("demo", CALLER).token, event, NOW)
    read = ReadModel(
        store,
        profiles=InMemoryProfileDirectory(),
        links=InMemoryInteractionLinks(),
        parties=InMemoryInteractionParties(),
    )
    query = QueryApi(read, ReadApi(tokenize, lambda: NOW, "demo"))
    settings = StreamSettings.from_env({"C360_ENV": "dev"})
    async with TestClient(
        TestServer(create_app(settings, twin_deps(query, access=twin_access(KEYS))))
    ) as client:
        yield client


async def _check(resp, status: int, model: type[BaseModel]) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    model.model_validate(body)  # extra="forbid": an undocumented key fails
    return body


async def test_read_answers_match_their_models(http: Client) -> None:
    """Timeline, insights, journey, one interaction and the error body."""
    page = await _check(
        await http.get("/v1/timeline", params={"identifier": CALLER}, headers=READ),
        200,
        rm.Timeline,
    )
    assert [i["interaction_id"] for i in page["items"]] == ["call-1", "call-2"]
    await _check(
        await http.get("/v1/timeline", params={"identifier": CALLER, "limit": "1"}, headers=READ),
        200,
        rm.Timeline,
    )
    await _check(
        await http.get("/v1/insights", params={"identifier": CALLER}, headers=READ),
        200,
        rm.Insights,
    )
    await _check(
        await http.get("/v1/journey", params={"identifier": CALLER}, headers=READ), 200, rm.Journey
    )
    await _check(
        await http.get("/v1/interactions/call-1", params={"identifier": CALLER}, headers=READ),
        200,
        rm.Interaction,
    )
    await _check(await http.get("/v1/timeline", headers=READ), 400, rm.Error)
    await _check(await http.get("/v1/profiles/nobody/timeline", headers=READ), 404, rm.Error)
    # The access check's answers: no credential, another tenant named.
    await _check(await http.get("/v1/timeline", params={"identifier": CALLER}), 401, AccessError)
    other = {"identifier": CALLER, "tenant": "acme"}
    await _check(await http.get("/v1/timeline", params=other, headers=READ), 403, AccessError)


async def test_probe_answers_match_their_models(http: Client) -> None:
    """/health and /ready."""
    await _check(await http.get("/health"), 200, service.Health)
    await _check(await http.get("/ready"), 200, service.Ready)


async def test_desktop_answers_match_their_models(http: Client) -> None:
    """Dev sign-in, me, agents, an action, and the error bodies."""
    await _check(await http.get("/v1/desktop/dev/agents"), 200, gw.DevAgents)
    login = await http.post("/v1/desktop/dev/login", json={"agent": "agent-1"})
    await _check(login, 200, gw.DevToken)
    auth = {"Authorization": "Bearer " + (await login.json())["token"]}
    await _check(await http.get("/v1/desktop/me", headers=auth), 200, gw.Me)
    action = {"action": "add_note", "interaction_id": "call-1", "text": "hi"}
    gw.Action.model_validate(action)
    await _check(
        await http.post("/v1/desktop/actions", json=action, headers=auth), 202, gw.ActionAccepted
    )
    await _check(
        await http.post("/v1/desktop/actions", json={"action": "x"}, headers=auth),
        400,
        gw.InvalidActionError,
    )
    await _check(await http.get("/v1/desktop/me"), 401, AccessError)
    await _check(await http.post("/v1/desktop/dev/login", json={"nobody": 1}), 400, gw.GatewayError)


async def test_desktop_profile_answers_match_their_models(http: Client) -> None:
    """Search, create, link, get and edit, through the access check, and their errors."""
    login = await http.post("/v1/desktop/dev/login", json={"agent": "agent-1"})
    auth = {"Authorization": "Bearer " + (await login.json())["token"]}
    new = {"display_name": "Ada Lovelace", "phones": ["+14155550100"], "interaction_id": "c-1"}
    gw.NewProfile.model_validate(new)
    created = await http.post("/v1/desktop/profiles", json=new, headers=auth)
    await _check(created, 201, gw.ProfileCreated)
    await _check(await http.post("/v1/desktop/profiles", json={"phones": ["x"]}, headers=auth),
                 422, gw.InvalidActionError)
    await _check(await http.get("/v1/desktop/search", params={"q": "ada"}, headers=auth), 200,
                 gw.SearchResults)
    await _check(await http.get("/v1/desktop/search", params={"q": "a"}, headers=auth), 400,
                 gw.InvalidActionError)
    link = {"interaction_id": "c-1", "crm": "hubspot", "crm_id": "9"}
    gw.LinkCrmContact.model_validate(link)
    await _check(await http.post("/v1/desktop/link-crm-contact", json=link, headers=auth), 202,
                 gw.LinkedContact)
    await _check(await http.get("/v1/desktop/profiles/nope", headers=auth), 404, gw.GatewayError)
    await _check(await http.patch("/v1/desktop/profiles/nope", json={}, headers=auth), 404,
                 gw.GatewayError)
    await _check(await http.get("/v1/desktop/search", params={"q": "ada"}), 401, AccessError)


async def test_ingest_answers_match_their_models(http: Client) -> None:
    """Accepted, and the error bodies (unknown source, malformed payload)."""
    body = "[" + ",".join(to_json(e) for e in voice_call("ix-1", tenant="demo")) + "]"
    post = http.post
    await _check(
        await post("/v1/ingest/canonical", data=body, headers=INGEST), 202, ingest.Accepted
    )
    await _check(await post("/v1/ingest/nope", data="{}", headers=INGEST), 404, ingest.IngestError)
    await _check(
        await post("/v1/ingest/canonical", data="[1]", headers=INGEST), 400, ingest.IngestError
    )
