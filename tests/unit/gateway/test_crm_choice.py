"""choose_crm and GET /v1/desktop/crms on the gateway (in-memory twins)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from connectors.crm.routing import routing_from_dict
from connectors.gateway.crms import CrmMenu
from core.activity_log import CrmChoice, InMemoryInteractionActivities
from schemas import codec
from tests.unit.gateway.test_web import Env, serve

ROUTING = routing_from_dict({"default": "hubspot", "tenants": {
    "demo": {"crm": "hubspot", "crms": ["salesforce"]}}})


@pytest.fixture
async def env() -> AsyncIterator[tuple[Env, InMemoryInteractionActivities]]:
    log = InMemoryInteractionActivities()
    async with serve(crm_menu=CrmMenu(ROUTING, log)) as got:
        yield got, log


@pytest.fixture
async def bare() -> AsyncIterator[Env]:
    async with serve() as got:
        yield got


async def test_crms_lists_the_default_first_and_the_agents_choice(env) -> None:
    got, log = env
    headers = {"Authorization": "Bearer " + got.token("a")}
    resp = await got.client.get("/v1/desktop/crms", headers=headers,
                                params={"interaction_id": "ix-1"})
    assert await resp.json() == {"crms": ["hubspot", "salesforce"], "default": "hubspot",
                                 "chosen": None, "connected": {}}
    await log.choose("demo", "ix-1", CrmChoice("salesforce", int(time.time() * 1000), "e1"))
    resp = await got.client.get("/v1/desktop/crms", headers=headers,
                                params={"interaction_id": "ix-1"})
    assert (await resp.json())["chosen"] == "salesforce"
    missing = await got.client.get("/v1/desktop/crms", headers=headers)
    assert missing.status == 400


async def test_choose_crm_is_published_audited_and_validated(env) -> None:
    got, _log = env
    headers = {"Authorization": "Bearer " + got.token("a")}
    ok = await got.client.post("/v1/desktop/actions", headers=headers, json={
        "action": "choose_crm", "interaction_id": "ix-1", "crm": "salesforce"})
    assert ok.status == 202
    desktop, audit = got.publisher.messages
    record = codec.decode(desktop.value)
    assert (record.action, record.crm) == ("choose_crm", "salesforce")
    assert audit.topic.endswith("c360.audit.v1")
    for body, said in (({"crm": "zoho"}, "tenant's CRMs"), ({"crm": "nope"}, "crm must be"),
                       ({}, "crm is required")):
        bad = await got.client.post("/v1/desktop/actions", headers=headers, json={
            "action": "choose_crm", "interaction_id": "ix-1", **body})
        assert bad.status == 400
        assert said in (await bad.json())["detail"]


async def test_without_crm_routing_the_menu_is_empty(bare: Env) -> None:
    got = bare
    resp = await got.client.get("/v1/desktop/crms", params={
        "interaction_id": "ix-1", "token": got.token("a")})
    assert await resp.json() == {"crms": [], "default": None, "chosen": None, "connected": {}}


async def test_a_relink_to_a_crm_record_carries_its_crm(env) -> None:
    """relink with crm + record_id (a CRM search result): both reach the desktop event."""
    got, _log = env
    headers = {"Authorization": "Bearer " + got.token("a")}
    ok = await got.client.post("/v1/desktop/actions", headers=headers, json={
        "action": "relink", "interaction_id": "ix-1", "profile_id": "p-9",
        "crm": "hubspot", "record_id": "hubspot:contact:77"})
    assert ok.status == 202
    record = codec.decode(got.publisher.messages[0].value)
    assert (record.profile_id, record.crm, record.record_id) == (
        "p-9", "hubspot", "hubspot:contact:77")
