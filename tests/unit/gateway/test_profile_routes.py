"""Desktop search, link-crm-contact, create and edit on twins (directory, search index, CRM)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.crm.errors import CrmUnavailable
from connectors.crm.memory import InMemoryCrmAdapter
from connectors.crm.routing import CrmRouting, TenantCrm
from connectors.gateway import auth
from connectors.gateway.crms import CrmMenu
from connectors.gateway.desk import ProfileDesk
from connectors.gateway.hub import Hub
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import GATEWAY, Gateway, add_routes
from core.activity_log import CrmChoice, InMemoryInteractionActivities
from core.crm.model import CrmContact
from core.layouts import LayoutConfig, LayoutField, TenantLayout
from core.profile_fields import email_value, identifiers_from, phone_normalizer
from core.profile_schema import (
    AttributeSpec,
    ProfileConfig,
    TenantSchema,
    validate_attributes,
)
from core.profile_search import index_terms
from core.profiles import Profile
from infra.kafka_producer import InMemoryPublisher
from schemas import codec
from schemas.records import AuditRecorded, DesktopActionTaken, ProfileUpserted
from tests.web_twins import TWIN_PEPPER, twin_desk

SECRET = b"unit-test-secret-0123456789abcdef"
SCHEMA = TenantSchema((
    AttributeSpec("tier", "text", choices=("gold", "silver")),
    AttributeSpec("account", "text"),
    AttributeSpec("vip", "boolean"),
))
# Tenant "acme" requires a region (not in the layout) and offers the layout's editable tier.
STRICT = TenantSchema((
    AttributeSpec("tier", "text", choices=("gold", "silver")),
    AttributeSpec("account", "text"),
    AttributeSpec("region", "text", label="Region", required=True),
))
LAYOUT = TenantLayout(fields=(
    LayoutField("display_name", editable=True),
    LayoutField("phones"),
    LayoutField("tier", "Tier", editable=True),
    LayoutField("account"),
))


class SlowCrm(InMemoryCrmAdapter):
    """A CRM whose search never answers in time."""

    async def search_contacts(self, query: str, *, limit: int = 10) -> list[CrmContact]:
        await asyncio.sleep(5)
        return []


@dataclass
class Env:
    client: TestClient[web.Request, web.Application]
    publisher: InMemoryPublisher
    desk: ProfileDesk
    crm: InMemoryCrmAdapter

    def headers(self, agent: str = "a1", tenant: str = "demo") -> dict[str, str]:
        return {"Authorization": "Bearer " + auth.issue(SECRET, tenant, agent, time.time(), 600)}

    async def apply(self) -> list[Any]:
        """Apply published ProfileUpserted records as the contacts worker does (directory
        + search index); returns every record published so far, decoded."""
        records = [codec.decode(m.value) for m in self.publisher.messages]
        for record in records:
            if isinstance(record, ProfileUpserted):
                await put(self.desk, record)
        return records


async def put(desk: ProfileDesk, r: ProfileUpserted) -> Profile:
    ids, _ = identifiers_from(r.tenant_id, r.phones, r.emails, TWIN_PEPPER, "US")
    attrs, _ = validate_attributes(SCHEMA, r.attributes, phone_normalizer("US"), email_value)
    profile = Profile(r.tenant_id, r.profile_id, (int(r.occurred_at.timestamp() * 1000),
                                                   r.event_id), r.display_name, ids, attrs,
                      r.source, r.deleted, dict(r.crm_ids))
    await desk.profiles.upsert(profile)
    await desk.search.replace(r.tenant_id, r.profile_id, profile.stamp,
                              index_terms(profile, TWIN_PEPPER))
    return profile


async def seed(desk: ProfileDesk, pid: str, name: str, phones: tuple[str, ...] = (),
               emails: tuple[str, ...] = (), tenant: str = "demo", **extra: Any) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    await put(desk, ProfileUpserted(f"e-{pid}", tenant, datetime(2025, 1, 1, tzinfo=UTC), pid,
                                    name, phones, emails, extra.pop("attributes", {}),
                                    crm_ids=extra.pop("crm_ids", {})))


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    crm = InMemoryCrmAdapter("hubspot")
    desk = twin_desk(crm="hubspot", adapters={"hubspot": crm},
                     schemas=ProfileConfig(SCHEMA, {"acme": STRICT}),
                     layouts=LayoutConfig(LAYOUT, {"plain": TenantLayout()}),
                     crm_timeout_seconds=0.5)
    config = GatewayConfig.from_settings(SimpleNamespace(
        kafka_bootstrap_servers="unused:1", topic_prefix="t.", default_tenant="demo"))
    topic, publisher = InMemoryPopTopic(partitions=1), InMemoryPublisher()
    gateway = Gateway(GatewaySettings(secret=SECRET, dev=True), config,
                      Hub(2, 60_000, lambda: int(time.time() * 1000)), topic, topic,
                      publisher, desk)
    app = web.Application()
    add_routes(app, gateway)
    client = TestClient(TestServer(app))
    await client.start_server()
    await seed(desk, "p-alice", "Alice Smith", ("+14155550100",), ("alice@example.com",),
               attributes={"tier": "gold", "account": "AC-77"})
    await seed(desk, "p-bob", "Bob Smithers", ("+14155550111",), crm_ids={"hubspot": "c9"})
    await seed(desk, "p-other", "Alice Other", tenant="acme")
    try:
        yield Env(client, publisher, desk, crm)
    finally:
        await client.close()


async def search(env: Env, q: str, **headers: str) -> dict[str, Any]:
    reply = await env.client.get("/v1/desktop/search", params={"q": q},
                                 headers=env.headers(**headers))
    assert reply.status == 200, await reply.text()
    body: dict[str, Any] = await reply.json()
    return body


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ali", ["p-alice"]),
        ("SMI", ["p-alice", "p-bob"]),
        ("alice smi", ["p-alice"]),
        ("(415) 555-0100", ["p-alice"]),
        ("+1 415 555 0111", ["p-bob"]),
        ("Alice@Example.com", ["p-alice"]),
        ("tier:GOLD", ["p-alice"]),
        ("ac-77", ["p-alice"]),
        ("nobody", []),
    ],
)
async def test_directory_search(env: Env, q: str, expected: list[str]) -> None:
    """Name prefix, phone in any format, email, attribute; other tenants never show."""
    body = await search(env, q)
    assert [r["profile_id"] for r in body["results"] if r["source"] == "c360"] == expected
    assert body["errors"] == []


async def test_crm_results_merge_and_say_their_source(env: Env) -> None:
    """CRM contacts show with source hubspot; one held by a profile shows once, as it."""
    env.crm.contacts["c9"] = CrmContact("c9", first_name="Bob", last_name="Smithers",
                                        record_url="https://crm/c9")
    smita = env.crm.seed_contact(first_name="Smita", last_name="Rao", email="smita@example.com")
    body = await search(env, "smi")
    by = {(r["source"], r["profile_id"], r["crm_id"]) for r in body["results"]}
    assert by == {("c360", "p-alice", None), ("c360", "p-bob", "c9"),
                  ("hubspot", None, smita)}
    bob = next(r for r in body["results"] if r["profile_id"] == "p-bob")
    assert bob["crm"] == "hubspot" and bob["record_url"] == "https://crm/c9"


async def test_crm_failures_are_errors_not_500(env: Env) -> None:
    """A CRM that fails or times out is listed in errors; the directory still answers."""
    env.crm.fail_next(CrmUnavailable("hubspot: HTTP 503", crm="hubspot", status=503))
    body = await search(env, "alice")
    assert [r["profile_id"] for r in body["results"]] == ["p-alice"]
    assert body["errors"] == [{"source": "hubspot", "message": "hubspot: HTTP 503"}]
    env.desk.crms._adapters = {"hubspot": SlowCrm("hubspot")}
    body = await search(env, "alice")
    assert body["errors"][0]["source"] == "hubspot" and "0.5s" in body["errors"][0]["message"]


async def test_search_asks_the_crm_the_agent_picked_for_the_interaction(env: Env) -> None:
    """With ?interaction_id= and a choose_crm on it, the picked CRM is searched; without
    one (or for another interaction) the routing's."""
    sales = InMemoryCrmAdapter("salesforce")
    sid = sales.seed_contact(first_name="Smita", last_name="Sales", email="s@example.com")
    hid = env.crm.seed_contact(first_name="Smita", last_name="Hub", email="h@example.com")
    env.desk.crms._adapters = {"hubspot": env.crm, "salesforce": sales}
    log = InMemoryInteractionActivities()
    await log.choose("demo", "call-1", CrmChoice("salesforce", 1, "e1"))
    routing = CrmRouting("hubspot", {"demo": TenantCrm("hubspot", crms=("salesforce",))})
    gw = env.client.server.app[GATEWAY]
    env.client.server.app[GATEWAY] = dataclasses.replace(gw, crm_menu=CrmMenu(routing, log))

    async def crm_ids(interaction: str) -> set[tuple[str, str]]:
        reply = await env.client.get("/v1/desktop/search", headers=env.headers(),
                                     params={"q": "smita", "interaction_id": interaction})
        assert reply.status == 200, await reply.text()
        return {(r["source"], r["crm_id"]) for r in (await reply.json())["results"]}

    assert await crm_ids("call-1") == {("salesforce", sid)}
    assert await crm_ids("call-2") == {("hubspot", hid)}


@pytest.mark.parametrize("q", ["", "a", "x" * 201])
async def test_query_bounds(env: Env, q: str) -> None:
    reply = await env.client.get("/v1/desktop/search", params={"q": q}, headers=env.headers())
    assert reply.status == 400 and (await reply.json())["error"] == "invalid_query"


async def test_search_needs_a_desktop_token(env: Env) -> None:
    reply = await env.client.get("/v1/desktop/search", params={"q": "alice"})
    assert reply.status == 401


async def test_create_profile_prefilled_relinks_and_creates_crm_contact(env: Env) -> None:
    """A new profile for an unknown caller, its CRM contact, and the relink (audited)."""
    reply = await env.client.post("/v1/desktop/profiles", headers=env.headers(), json={
        "interaction_id": "ix-1", "display_name": "Carol Danvers",
        "phones": ["(415) 555-0199"], "emails": ["carol@example.com"],
        "attributes": {"tier": "silver"}, "create_in_crm": True})
    assert reply.status == 201, await reply.text()
    body = await reply.json()
    pid, crm_id = body["profile_id"], body["crm_id"]
    assert pid.startswith("p-") and crm_id in env.crm.contacts
    contact = env.crm.contacts[crm_id]
    assert (contact.first_name, contact.last_name, contact.phones) == (
        "Carol", "Danvers", ("+14155550199",))
    records = await env.apply()
    upsert = next(r for r in records if isinstance(r, ProfileUpserted))
    assert (upsert.source, upsert.crm_ids, upsert.attributes) == (
        "agent", {"hubspot": crm_id}, {"tier": "silver"})
    relink = next(r for r in records if isinstance(r, DesktopActionTaken))
    assert (relink.action, relink.profile_id, relink.agent_id, relink.record_id, relink.crm) == (
        "relink", pid, "a1", f"hubspot:contact:{crm_id}", "hubspot")
    assert any(isinstance(r, AuditRecorded) for r in records)
    topics = {m.topic for m in env.publisher.messages}
    assert {"t.c360.contacts.v1", "t.c360.desktop.v1", "t.c360.audit.v1"} <= topics
    assert [r["profile_id"] for r in (await search(env, "carol"))["results"]] == [pid]


async def test_create_profile_validates_every_field(env: Env) -> None:
    reply = await env.client.post("/v1/desktop/profiles", headers=env.headers(), json={
        "phones": ["not a phone"], "emails": ["nope"], "attributes": {"tier": "bronze",
                                                                    "colour": "red"}})
    assert reply.status == 422
    problems = (await reply.json())["problems"]
    assert any(p.startswith("phones[1]") for p in problems)
    assert any(p.startswith("emails[1]") for p in problems)
    assert any(p.startswith("tier:") for p in problems)
    assert "colour: unknown attribute" in problems
    assert env.publisher.messages == []


async def test_link_crm_contact_creates_once_then_reuses(env: Env) -> None:
    """A CRM result no profile holds gets a profile with crm_ids; once indexed, the next
    link finds it; a contact a profile holds links to that profile."""
    doc = {"interaction_id": "ix-2", "crm": "hubspot", "crm_id": "c77",
           "display_name": "Dana Scully", "phones": ["415-555-0177", "ext. 12"],
           "emails": ["dana@example.com"]}
    reply = await env.client.post("/v1/desktop/link-crm-contact", headers=env.headers(),
                                  json=doc)
    assert reply.status == 202, await reply.text()
    first = await reply.json()
    assert first["created"] is True
    records = await env.apply()
    upsert = next(r for r in records if isinstance(r, ProfileUpserted))
    assert upsert.crm_ids == {"hubspot": "c77"} and upsert.phones == ("415-555-0177",)
    relink = next(r for r in records if isinstance(r, DesktopActionTaken))
    assert (relink.profile_id, relink.record_id, relink.crm) == (
        first["profile_id"], "hubspot:contact:c77", "hubspot")
    again = await (await env.client.post("/v1/desktop/link-crm-contact",
                                         headers=env.headers(), json=doc)).json()
    assert again["profile_id"] == first["profile_id"] and again["created"] is False
    held = await (await env.client.post("/v1/desktop/link-crm-contact", headers=env.headers(),
                                        json={**doc, "crm_id": "c9"})).json()
    assert held["profile_id"] == "p-bob" and held["created"] is False


async def test_link_crm_contact_validates(env: Env) -> None:
    reply = await env.client.post("/v1/desktop/link-crm-contact", headers=env.headers(),
                                  json={"crm": "nocrm"})
    assert reply.status == 400
    assert len((await reply.json())["problems"]) == 3


async def test_get_profile_lists_editable_fields(env: Env) -> None:
    reply = await env.client.get("/v1/desktop/profiles/p-alice", headers=env.headers())
    assert reply.status == 200
    body = await reply.json()
    assert body["phones"] == ["+14155550100"] and body["crm_ids"] == {}
    assert body["editable"] == [
        {"name": "display_name", "label": "Name", "type": "text", "value": "Alice Smith",
         "required": False},
        {"name": "tier", "label": "Tier", "type": "text", "value": "gold", "required": False,
         "choices": ["gold", "silver"]},
    ]
    other = await env.client.get("/v1/desktop/profiles/p-other", headers=env.headers())
    assert other.status == 404  # another tenant's profile


async def test_patch_edits_editable_fields_only(env: Env) -> None:
    """An editable field is published merged with the stored profile; a field the layout
    does not mark editable and an invalid value are 422 with every problem."""
    url = "/v1/desktop/profiles/p-alice"
    bad = await env.client.patch(url, headers=env.headers(), json={
        "attributes": {"tier": "bronze", "account": "X"}, "phones": ["+14155550000"]})
    assert bad.status == 422
    problems = (await bad.json())["problems"]
    assert "account: not editable" in problems and "phones: not editable" in problems
    assert any(p.startswith("tier:") for p in problems)
    assert env.publisher.messages == []
    ok = await env.client.patch(url, headers=env.headers(), json={
        "display_name": "Alice Smith-Jones", "attributes": {"tier": "silver"}})
    assert ok.status == 200, await ok.text()
    [record] = [r for r in await env.apply() if isinstance(r, ProfileUpserted)]
    assert (record.profile_id, record.display_name, record.phones, record.emails) == (
        "p-alice", "Alice Smith-Jones", ("+14155550100",), ("alice@example.com",))
    assert record.attributes == {"tier": "silver", "account": "AC-77"}
    assert [r["profile_id"] for r in (await search(env, "jones"))["results"]] == ["p-alice"]
    assert (await search(env, "tier:gold"))["results"] == []
    missing = await env.client.patch("/v1/desktop/profiles/p-other", headers=env.headers(),
                                     json={"display_name": "X"})
    assert missing.status == 404


async def test_profile_form_lists_builtins_editable_and_required_attributes(env: Env) -> None:
    """The create form: name, phones, emails, the layout's editable attributes and every
    required one, typed as the edit route types them; the tenant comes from the token."""
    builtins = [
        {"name": "display_name", "label": "Name", "type": "text", "required": False},
        {"name": "phones", "label": "Phones", "type": "list", "required": False},
        {"name": "emails", "label": "Emails", "type": "list", "required": False},
    ]
    tier = {"name": "tier", "label": "Tier", "type": "text", "required": False,
            "choices": ["gold", "silver"]}
    region = {"name": "region", "label": "Region", "type": "text", "required": True}
    for tenant, expected in (("demo", [*builtins, tier]), ("acme", [*builtins, tier, region]),
                             ("plain", builtins)):  # the default layout marks nothing editable
        reply = await env.client.get("/v1/desktop/profile-form", headers=env.headers(
            tenant=tenant))
        assert reply.status == 200
        assert (await reply.json())["fields"] == expected, tenant
    assert (await env.client.get("/v1/desktop/profile-form")).status == 401


async def test_create_profile_demands_the_required_attribute(env: Env) -> None:
    """A tenant whose schema requires an attribute: the create is 422 without it, 201 with it
    (the attribute published with the profile)."""
    headers = env.headers(tenant="acme")
    body = {"display_name": "Zed", "phones": ["+14155550123"]}
    bad = await env.client.post("/v1/desktop/profiles", headers=headers, json=body)
    assert bad.status == 422
    assert (await bad.json())["problems"] == ["region: required"]
    ok = await env.client.post("/v1/desktop/profiles", headers=headers,
                               json={**body, "attributes": {"region": "EU", "tier": "gold"}})
    assert ok.status == 201, await ok.text()
    [record] = [codec.decode(m.value) for m in env.publisher.messages]
    assert isinstance(record, ProfileUpserted)
    assert (record.tenant_id, record.attributes) == ("acme", {"region": "EU", "tier": "gold"})


async def test_a_retried_create_names_the_same_profile_and_events(env: Env) -> None:
    """The same client_action_id from the same agent: one profile id, the same upsert and
    relink event ids (duplicates downstream); another attempt or agent: another profile."""
    body = {"interaction_id": "call-9", "display_name": "Rita Retry",
            "phones": ["+14155550177"], "client_action_id": "attempt-1"}

    async def create(agent: str = "a1", **extra: str) -> tuple[str, list[str]]:
        before = len(env.publisher.messages)
        reply = await env.client.post("/v1/desktop/profiles", json={**body, **extra},
                                      headers=env.headers(agent))
        assert reply.status == 201, await reply.text()
        events = [codec.decode(m.value).event_id for m in env.publisher.messages[before:]]
        return (await reply.json())["profile_id"], events

    first = await create()
    assert await create() == first
    assert (await create(client_action_id="attempt-2"))[0] != first[0]
    assert (await create(agent="a2"))[0] != first[0]
