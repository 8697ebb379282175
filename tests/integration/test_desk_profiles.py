"""Desktop search, create, edit and link-crm-contact on the real broker, Redis and streams
worker: a profile created by the route is applied by the contacts agent, then found by
name, phone, email and attribute; an edit follows the layout and schema; a HubSpot search
result (emulator) becomes a profile holding its CRM id, and the interaction is relinked."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.gateway import auth
from connectors.gateway.web import add_routes
from schemas import codec
from schemas.records import DesktopActionTaken
from schemas.topics import DESKTOP
from streams.settings import StreamSettings
from tests.emulators.hubspot import HubSpotEmulator
from tests.integration.stack import running_stack
from web.bootstrap import build_gateway

pytestmark = pytest.mark.integration
SECRET = "integration-desk-secret-0123456789"
SCHEMA = {"default": {"attributes": [
    {"name": "tier", "type": "text", "choices": ["gold", "silver"]},
    {"name": "account", "type": "text"}]}}
LAYOUT = {"default": {"fields": [
    {"name": "display_name", "editable": True}, "phones",
    {"name": "tier", "editable": True}, "account"]}}
Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def desk_stack(kafka_bootstrap, redis_url, tmp_path_factory):
    """The streams worker with a profile schema and a layout marking fields editable."""
    base = tmp_path_factory.mktemp("desk")
    (base / "schema.json").write_text(json.dumps(SCHEMA))
    (base / "layout.json").write_text(json.dumps(LAYOUT))
    with running_stack(kafka_bootstrap, redis_url, base,
                       C360_PROFILE_SCHEMA_FILE=str(base / "schema.json"),
                       C360_LAYOUT_FILE=str(base / "layout.json")) as stack:
        stack["redis_url"] = redis_url
        stack["base"] = str(base)
        yield stack


@asynccontextmanager
async def desk(stack: dict[str, Any], **env: str) -> AsyncIterator[Client]:
    """The gateway as web.bootstrap builds it, on the stack's prefix, namespace and pepper."""
    settings = StreamSettings.from_env({
        "C360_ENV": "dev", "C360_KAFKA_BOOTSTRAP_SERVERS": str(stack["bootstrap"]),
        "C360_TOPIC_PREFIX": str(stack["prefix"]), "C360_REDIS_URL": str(stack["redis_url"]),
        "C360_KEY_NAMESPACE": f"c360t{str(stack['prefix'])[:-1]}",
        "C360_DEFAULT_REGION": "GB",
        "C360_PROFILE_SCHEMA_FILE": f"{stack['base']}/schema.json",
        "C360_LAYOUT_FILE": f"{stack['base']}/layout.json"})
    app = web.Application()
    add_routes(app, build_gateway(settings, {"C360_GATEWAY_SECRET": SECRET, **env}))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def headers(tenant: str, agent: str = "agent-7") -> dict[str, str]:
    return {"Authorization": "Bearer " + auth.issue(SECRET.encode(), tenant, agent,
                                                    time.time(), 600)}


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """Poll until `probe` returns something truthy (the worker applies asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await probe()
        if got or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.3)


async def found(client: Client, tenant: str, q: str) -> list[tuple[str, str | None]]:
    reply = await client.get("/v1/desktop/search", params={"q": q}, headers=headers(tenant))
    assert reply.status == 200, await reply.text()
    return [(r["source"], r["profile_id"]) for r in (await reply.json())["results"]]


async def test_created_profile_is_searchable_and_editable(desk_stack) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    async with desk(desk_stack) as client:
        reply = await client.post("/v1/desktop/profiles", headers=headers(tenant), json={
            "display_name": "Grace Hopper", "phones": ["020 7946 0999"],
            "emails": ["grace@example.com"], "attributes": {"tier": "gold", "account": "N-1"}})
        assert reply.status == 201, await reply.text()
        pid = (await reply.json())["profile_id"]
        mine = [("c360", pid)]
        for q in ("gra", "HOPPER", "+44 20 7946 0999", "grace@example.com", "tier:gold", "n-1"):
            assert await eventually(lambda q=q: _is(found(client, tenant, q), mine)), q

        url = f"/v1/desktop/profiles/{pid}"
        got = await (await client.get(url, headers=headers(tenant))).json()
        assert [f["name"] for f in got["editable"]] == ["display_name", "tier"]
        refused = await client.patch(url, headers=headers(tenant), json={
            "attributes": {"account": "N-2", "tier": "bronze"}})
        assert refused.status == 422
        problems = (await refused.json())["problems"]
        assert "account: not editable" in problems and any(p.startswith("tier:")
                                                            for p in problems)
        edited = await client.patch(url, headers=headers(tenant), json={
            "display_name": "Grace B. Hopper", "attributes": {"tier": "silver"}})
        assert edited.status == 200
        assert await eventually(lambda: _is(found(client, tenant, "tier:silver"), mine))
        assert await found(client, tenant, "tier:gold") == []
        after = await (await client.get(url, headers=headers(tenant))).json()
        assert (after["display_name"], after["attributes"]) == (
            "Grace B. Hopper", {"tier": "silver", "account": "N-1"})
        assert after["phones"] == ["+442079460999"]


async def _is(result: Awaitable[list[tuple[str, str | None]]],
              expected: list[tuple[str, str | None]]) -> bool:
    return await result == expected


async def test_link_crm_contact_from_hubspot_search(desk_stack, consume_until) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    hubspot = HubSpotEmulator()
    await hubspot.start()
    try:
        crm_id = hubspot.seed("contacts", {"firstname": "Ada", "lastname": "Lovelace",
                                           "email": "ada@example.com", "phone": "020 7946 0555"})
        async with desk(desk_stack, C360_CRM_DEFAULT="hubspot", **hubspot.env()) as client:
            reply = await client.get("/v1/desktop/search", params={"q": "lovel"},
                                     headers=headers(tenant))
            body = await reply.json()
            assert body["errors"] == []
            [hit] = body["results"]
            assert (hit["source"], hit["crm_id"], hit["profile_id"]) == ("hubspot", crm_id, None)
            linked = await client.post("/v1/desktop/link-crm-contact", headers=headers(tenant),
                                       json={"interaction_id": "ix-42", "crm": "hubspot",
                                             "crm_id": crm_id,
                                             "display_name": hit["display_name"],
                                             "phones": hit["phones"], "emails": hit["emails"]})
            assert linked.status == 202, await linked.text()
            pid = (await linked.json())["profile_id"]

            async def profile() -> dict[str, Any] | None:
                got = await client.get(f"/v1/desktop/profiles/{pid}", headers=headers(tenant))
                return await got.json() if got.status == 200 else None

            stored = await eventually(profile)
            assert stored is not None and stored["crm_ids"] == {"hubspot": crm_id}
            assert stored["phones"] == ["+442079460555"]
            again = await (await client.get("/v1/desktop/search", params={"q": "lovel"},
                                            headers=headers(tenant))).json()
            assert [(r["source"], r["profile_id"], r["crm_id"]) for r in again["results"]] == [
                ("c360", pid, crm_id)]

        def relinked(received: list[Any]) -> bool:
            return any(_relink_to(r.value, tenant, pid) for r in received)

        received = consume_until(str(desk_stack["prefix"]) + DESKTOP, relinked, 30)
        assert relinked(received)
    finally:
        await hubspot.stop()


def _relink_to(value: bytes, tenant: str, pid: str) -> bool:
    record = codec.decode(value)
    return (isinstance(record, DesktopActionTaken) and record.tenant_id == tenant
            and record.action == "relink" and record.profile_id == pid
            and record.record_id is not None and record.record_id.startswith("hubspot:contact:"))
