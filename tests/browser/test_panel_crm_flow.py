"""Issue 11's CRM flow as an agent works it, in real headless Chromium on the real stack: the
Tansu broker, Redis, the streams worker (`python -m streams worker`), the web service's app
(web.app.create_app + web.bootstrap.build_web_deps), the CRM sink worker (`python -m
connectors.crm.worker`) and the HubSpot and Salesforce emulators.

A call from Alice's number rings agent-1; the agent finds Dave in "Find a contact", links
him (the relink goes through the desktop topic and the streams worker, which re-pops), adds
a note, the call is wrapped up: HubSpot gets the call and the note on Dave's contact, not
Alice's; relinked back to Alice from the Relink dialog, both move to her. An unknown
caller: Create profile (phone prefilled, also in HubSpot) makes the HubSpot contact and the
directory's profile, and the pop shows it; Edit changes a field the tenant's layout marks
editable, and the directory has it. A third call: the agent picks Salesforce under "Log to
CRM", and the call activity lands in Salesforce."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page, Route, expect

from connectors.gateway import auth
from core.profiles import Profile
from infra.kafka_producer import make_producer, produce_all
from projections.keys import Keys
from projections.redis_activities import RedisInteractionActivities
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_profiles import RedisProfileDirectory
from schemas import codec
from schemas.records import ActivityRequested, InteractionEvent, ProfileUpserted
from schemas.topics import ACTIVITIES_REQUESTED, CONTACTS, INTERACTIONS
from streams.settings import StreamSettings
from tests.browser.standin import serve
from tests.emulators import salesforce
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import SalesforceEmulator
from tests.factories import CALLER, voice_call
from tests.integration.stack import start_streams_worker
from tests.integration.stack import stop_worker as stop_streams
from tests.integration.stack import worker_env as streams_env
from tests.integration.test_crm_worker import start_worker, stop_worker, worker_env
from tests.kafka_helpers import Received
from web.app import create_app
from web.bootstrap import build_web_deps

pytestmark = [pytest.mark.browser, pytest.mark.integration]
T = TypeVar("T")

TENANT, AGENT = "demo", "agent-1"
SECRET = "browser-crm-flow-secret-0123456789"
DAVE_PHONE, NEW_CALLER = "+442079460456", "+442079460777"
DEADLINE = 60.0  # a hop through the workers, not a performance bound
SCHEMA = {"default": {"attributes": [{"name": "tier", "type": "text",
                                      "choices": ["gold", "silver"]}]}}
LAYOUT = {"default": {"fields": [{"name": "display_name", "editable": True}, "phones",
                                 {"name": "tier", "label": "Tier", "editable": True}]}}
ROUTING = {"default": "hubspot",
           "tenants": {TENANT: {"crm": "hubspot", "crms": ["salesforce"]}}}


@dataclass
class Stack:
    """The served panel, the emulators, and what the test reads back."""

    url: str
    prefix: str
    bootstrap: str
    redis_url: str
    keys: Keys
    hubspot: HubSpotEmulator
    salesforce: SalesforceEmulator
    ids: dict[str, str]  # CRM ids seeded: alice, dave, frank (HubSpot), sf-alice (Salesforce)
    errors: list[str]  # uncaught page errors

    def publish(self, topic: str, records: list[Any], key: Callable[[Any], str]) -> None:
        produce_all(make_producer(self.bootstrap), self.prefix + topic,
                    [(key(r).encode(), codec.encode(r)) for r in records])

    async def ring(self, iid: str, caller: str = CALLER) -> list[InteractionEvent]:
        """Offered to agent-1 and accepted now; returns the call's events (end, wrap-up
        still to publish)."""
        call = voice_call(iid, tenant=TENANT, agent=AGENT, caller=caller, duration=30,
                          start=datetime.now(tz=UTC) - timedelta(seconds=20))
        await asyncio.to_thread(self.publish, INTERACTIONS, call[:3],
                                lambda r: r.interaction_id)
        return call

    async def wrap_up(self, call: list[InteractionEvent]) -> None:
        await asyncio.to_thread(self.publish, INTERACTIONS, call[3:],
                                lambda r: r.interaction_id)

    async def redis(self, read: Callable[[Any], Awaitable[T]]) -> T:
        """`read(client)` on a client of the stack's Redis."""
        client = redis_client(self.redis_url)
        try:
            return await read(client)
        finally:
            await client.aclose()

    async def profile(self, profile_id: str) -> Profile | None:
        return await self.redis(
            lambda c: RedisProfileDirectory(c, self.keys).get(TENANT, profile_id))

    async def linked_by_agent(self, iid: str, profile_id: str) -> bool:
        return await self.redis(
            lambda c: _by_agent(RedisInteractionLinks(c, self.keys), iid, profile_id))

    async def crm_chosen(self, iid: str) -> str | None:
        book = await self.redis(
            lambda c: RedisInteractionActivities(c, self.keys, 3600).read(TENANT, iid))
        return book.choice.crm if book.choice else None


async def _by_agent(links: RedisInteractionLinks, iid: str, profile_id: str) -> bool:
    return any((a.by, a.profile_id) == ("agent", profile_id)
               for a in await links.actions(TENANT, iid))


async def until(what: str, probe: Callable[[], Any], deadline: float = DEADLINE) -> Any:
    """Poll `probe` (sync or async) until it returns something truthy."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        try:
            last = probe()
            if asyncio.iscoroutine(last):
                last = await last
        except RuntimeError:  # an emulator table changed size while we read it
            last = None
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what} (last: {last!r})")


@pytest.fixture
async def stack(
    kafka_bootstrap: str, redis_url: str, topic_prefix: str, redis_namespace: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    files = {"schema": SCHEMA, "layout": LAYOUT, "routing": ROUTING}
    for name, doc in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(doc))
    hubspot, sf = HubSpotEmulator(), SalesforceEmulator()
    await hubspot.start()
    await sf.start()
    ids = {"alice": hubspot.seed("contacts", {"firstname": "Alice", "lastname": "Archer",
                                              "phone": CALLER}),
           "dave": hubspot.seed("contacts", {"firstname": "Dave", "lastname": "Dobson",
                                             "phone": DAVE_PHONE}),
           "frank": hubspot.seed("contacts", {"firstname": "Frank", "lastname": "Fisher",
                                              "phone": "+442079460321"}),
           "sf-alice": sf.seed("Contact", {"FirstName": "Alice", "LastName": "Archer",
                                           "Phone": CALLER})}
    shared = {"C360_PROFILE_SCHEMA_FILE": str(tmp_path / "schema.json"),
              "C360_LAYOUT_FILE": str(tmp_path / "layout.json"),
              "C360_KEY_NAMESPACE": redis_namespace, "C360_MAX_FUTURE_SECONDS": "86400"}
    crm_env = {"C360_CRM_ROUTING_FILE": str(tmp_path / "routing.json"),
               **hubspot.env(), **sf.env()}
    log = (tmp_path / "streams.log").open("wb")
    streams = start_streams_worker(
        streams_env(kafka_bootstrap, redis_url, topic_prefix, "flow", **shared), log, tmp_path)
    sink = start_worker(worker_env(kafka_bootstrap, topic_prefix, hubspot, tmp_path,
                                   f"crm-{uuid.uuid4().hex[:8]}", **crm_env),
                        tmp_path / "crm-worker.log")
    env = {"C360_ENV": "dev", "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
           "C360_TOPIC_PREFIX": topic_prefix, "C360_REDIS_URL": redis_url,
           "C360_DEFAULT_REGION": "GB", "C360_GATEWAY_SECRET": SECRET, **shared, **crm_env}
    settings = StreamSettings.from_env(env)
    try:
        async with serve(create_app(settings, build_web_deps(settings, env))) as url:
            yield Stack(url, topic_prefix, kafka_bootstrap, redis_url, Keys(redis_namespace),
                        hubspot, sf, ids, [])
    finally:
        stop_streams(streams)
        log.close()
        code = stop_worker(sink)
        await hubspot.stop()
        await sf.stop()
        assert code == 0, (tmp_path / "crm-worker.log").read_text()[-4000:]


async def open_panel(browser: Browser, stack: Stack) -> Page:
    """agent-1's panel, signed in with a desktop token, its stream live."""
    token = auth.issue(SECRET.encode(), TENANT, AGENT, time.time(), 3600)
    page = await (await browser.new_context(viewport={"width": 560, "height": 1400})).new_page()
    page.on("pageerror", lambda exc: stack.errors.append(str(exc)))
    await page.goto(stack.url + "/desktop/#token=" + token)
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    return page


async def shows(page: Page, name: str) -> None:
    """The caller section shows `name` from a fresh pop (not "linked, refreshing")."""
    caller = page.locator("#caller")
    await expect(caller.locator(".name")).to_contain_text(name, timeout=DEADLINE * 1000)
    await expect(caller.get_by_text("linked, refreshing")).to_have_count(
        0, timeout=DEADLINE * 1000)


def hubspot_on(emu: HubSpotEmulator, kind: str, iid: str) -> list[list[str]]:
    """The contacts each HubSpot `kind` record of the interaction is associated with."""
    return [[str(a["to"]["id"]) for a in r["associations"]]
            for r in list(emu.table(kind).values())
            if r["properties"].get("c360_idempotency_key", "").startswith(f"{TENANT}:{iid}:")]


def salesforce_tasks(emu: SalesforceEmulator, iid: str) -> list[str | None]:
    """The WhoId of each Salesforce task of the interaction."""
    return [r.get("WhoId") for r in list(emu.table("Task").values())
            if r.get(salesforce.EXT, "").startswith(f"{TENANT}:{iid}:")]


async def test_the_crm_follows_the_agent_in_the_panel(
    browser: Browser, stack: Stack, consume_until: Callable[..., list[Received]]
) -> None:
    now = datetime.now(tz=UTC) - timedelta(days=1)
    stack.publish(CONTACTS, [
        ProfileUpserted(str(uuid.uuid4()), TENANT, now, "p-alice", "Alice Archer", (CALLER,),
                        (), {"tier": "gold"}, "csv", crm_ids={"hubspot": stack.ids["alice"]}),
        ProfileUpserted(str(uuid.uuid4()), TENANT, now, "p-dave", "Dave Dobson", (DAVE_PHONE,),
                        ("dave@example.com",), {}, "csv",
                        crm_ids={"hubspot": stack.ids["dave"]})], lambda r: r.profile_id)
    await until("both profiles in the directory", lambda: _both(stack))
    page = await open_panel(browser, stack)
    caller = page.locator("#caller")

    # 1-3. Alice's number rings; the agent links Dave, adds a note; wrap-up.
    call = await stack.ring("ix-relink")
    await shows(page, "Alice Archer")
    box = page.get_by_role("searchbox", name="Name, phone, email or attribute")
    results = page.locator("#search-results > li")
    # Frank is only in HubSpot: Link makes his profile (link-crm-contact) and relinks to it.
    # The answers of link-crm-contact and relink are held until the streams worker's fresh
    # pop naming the profile is on screen (a race the panel must survive: the pop may
    # come first).
    for path in ("link-crm-contact", "actions"):
        await page.route(f"**/v1/desktop/{path}", lambda route: _after_the_pop(page, route))
    await box.fill("fish")
    await expect(results).to_have_count(1, timeout=20_000)
    await expect(results.locator(".badge")).to_have_text(["HubSpot"])
    await page.get_by_role("button", name="Link Frank Fisher (HubSpot)").click()
    await shows(page, "Frank Fisher")
    frank = await page.evaluate("window.c360Panel.state.pop.profile_id")
    assert frank != "p-alice"
    # Dave's number as typed locally finds his profile (and his HubSpot contact, merged).
    await box.fill("020 7946 0456")
    await expect(results).to_have_count(1, timeout=20_000)
    await expect(results).to_contain_text("Dave Dobson")
    # Dave is in both, merged into one result: his c360 profile holds his HubSpot id.
    await box.fill("Dave")
    await expect(results).to_have_count(1, timeout=20_000)
    await expect(results.locator(".badge")).to_have_text(["c360"])
    await page.get_by_role("button", name="Link Dave Dobson (c360)").click()
    await shows(page, "Dave Dobson")
    await page.unroute_all()
    await until("the relink recorded", lambda: stack.linked_by_agent("ix-relink", "p-dave"))
    await page.get_by_label("Text").fill("Dave asked about his invoice.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#note-status")).to_have_text("Note saved.")
    await stack.wrap_up(call)
    dave = [[stack.ids["dave"]]]
    await until("the call and the note on Dave's HubSpot contact", lambda: (
        hubspot_on(stack.hubspot, "calls", "ix-relink") == dave
        and hubspot_on(stack.hubspot, "notes", "ix-relink") == dave))
    [note] = [r for r in stack.hubspot.table("notes").values()
              if r["properties"]["c360_idempotency_key"].startswith(f"{TENANT}:ix-relink:")]
    assert note["properties"]["hs_note_body"].startswith("Dave asked about his invoice.")
    # Relinked back to Alice after the wrap-up: both records move to her contact.
    await page.get_by_role("button", name="Relink…").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Alice Archer").check()
    await dialog.get_by_role("button", name="Relink", exact=True).click()
    await shows(page, "Alice Archer")
    alice = [[stack.ids["alice"]]]
    await until("the call and the note moved to Alice", lambda: (
        hubspot_on(stack.hubspot, "calls", "ix-relink") == alice
        and hubspot_on(stack.hubspot, "notes", "ix-relink") == alice))

    # 4. An unknown caller: Create profile, also in HubSpot.
    new_call = await stack.ring("ix-new", caller=NEW_CALLER)
    await expect(caller).to_contain_text("Not identified", timeout=DEADLINE * 1000)
    await caller.get_by_role("button", name="Create profile…").click()
    form = page.get_by_role("dialog", name="Create a profile for this caller")
    await expect(form.get_by_label("Phone")).to_have_value(NEW_CALLER)
    await form.get_by_label("Name").fill("Erin Example")
    await form.get_by_label("Also create the contact in HubSpot").check()
    await form.get_by_role("button", name="Create").click()
    await shows(page, "Erin Example")
    made = {r["id"]: r["properties"] for r in list(stack.hubspot.table("contacts").values())
            if r["id"] not in stack.ids.values()}
    assert [(p.get("firstname"), p.get("lastname"), p.get("phone")) for p in made.values()] == [
        ("Erin", "Example", NEW_CALLER)]
    pid = await page.evaluate("window.c360Panel.state.pop.profile_id")
    erin = await until("Erin in the directory", lambda: stack.profile(pid))
    assert (erin.display_name, [(i.kind, i.value) for i in erin.identifiers]) == (
        "Erin Example", [("phone", NEW_CALLER)])
    assert erin.crm_ids == {"hubspot": next(iter(made))}
    await stack.wrap_up(new_call)  # the call goes to the contact just made
    await until("the new caller's call on the new HubSpot contact", lambda: hubspot_on(
        stack.hubspot, "calls", "ix-new") == [list(made)])

    # 5. Edit a field the layout marks editable.
    await caller.get_by_role("button", name="Edit Erin Example").click()
    edit = page.get_by_role("dialog", name="Edit Erin Example")
    await expect(edit.locator("#profile-fields label")).to_have_text(["Name", "Tier"])
    await edit.get_by_label("Tier").select_option("silver")
    await edit.get_by_role("button", name="Save").click()
    await expect(edit).to_be_hidden()
    await expect(caller.locator(".fields")).to_contain_text("silver")
    edited = await until("the edit in the directory", lambda: _with_tier(stack, pid, "silver"))
    assert edited.display_name == "Erin Example"

    # 6. The agent logs a call from Alice to Salesforce instead of HubSpot (the default).
    call = await stack.ring("ix-choice")
    await shows(page, "Alice Archer")
    select = page.get_by_label("Log to CRM")
    await expect(select).to_have_value("hubspot", timeout=20_000)
    await select.select_option("salesforce")
    await expect(page.locator("#notice")).to_have_text(
        "Activities of this interaction go to Salesforce.")
    await until("the choice recorded", lambda: stack.crm_chosen("ix-choice"))
    await page.reload()  # the menu's "chosen" comes back from the interaction's record
    await expect(page.get_by_label("Log to CRM")).to_have_value("salesforce", timeout=20_000)
    await stack.wrap_up(call)
    await until("the call in Salesforce, on Alice",
                lambda: salesforce_tasks(stack.salesforce, "ix-choice") == [stack.ids["sf-alice"]])
    assert hubspot_on(stack.hubspot, "calls", "ix-choice") == []
    await page.screenshot(path="/tmp/c360-panel-crm-flow.png", full_page=True)
    assert stack.errors == []

    # What the streams worker asked the CRM sink for: the relinked profile (Dave, by his
    # HubSpot id) as the target of the automatic call and of the manual note, on the
    # routing default, each asked again for Alice after the relink back; the contact the
    # create made (the relink names that record); the agent's choice of Salesforce, where
    # Alice is found by her phone.
    requests = await asyncio.to_thread(consume_until, stack.prefix + ACTIVITIES_REQUESTED,
                                       lambda rs: len(_requested(rs)) >= 6)
    assert sorted((r.interaction_id, r.kind, r.crm, r.profile_id, r.target, r.crm_choice)
                  for r in _requested(requests)) == [
        ("ix-choice", "call", "salesforce", "p-alice", "search", "agent"),
        ("ix-new", "call", None, pid, "agent", None),
        ("ix-relink", "call", None, "p-alice", "profile", None),
        ("ix-relink", "call", None, "p-dave", "profile", None),
        ("ix-relink", "note", None, "p-alice", "profile", None),
        ("ix-relink", "note", None, "p-dave", "profile", None)]


def _requested(records: list[Received]) -> list[ActivityRequested]:
    return [r for r in (codec.decode(x.value) for x in records if x.value)
            if isinstance(r, ActivityRequested)]


async def _after_the_pop(page: Page, route: Route) -> None:
    """Answer a link request (link-crm-contact, a relink action) once the pop naming the
    profile it links is on screen; other actions go through."""
    sent = route.request.post_data_json or {}
    if sent.get("action", "relink") != "relink":
        await route.continue_()
        return
    answer = await route.fetch()
    made = sent.get("profile_id") or (await answer.json())["profile_id"]
    await page.wait_for_function(
        "id => (window.c360Panel.state.pop || {}).profile_id === id", arg=made,
        timeout=DEADLINE * 1000)
    await route.fulfill(response=answer)


async def _both(stack: Stack) -> bool:
    return all([await stack.profile(p) is not None for p in ("p-alice", "p-dave")])


async def _with_tier(stack: Stack, pid: str, tier: str) -> Profile | None:
    found = await stack.profile(pid)
    return found if found is not None and found.attributes.get("tier") == tier else None
