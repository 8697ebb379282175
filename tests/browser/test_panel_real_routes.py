"""The panel's search, pick, create and edit flows in headless Chromium against the real
desktop routes (connectors.gateway.profiles) on twins: web.app.create_app with an in-memory
directory, search index, pop topic, publisher and HubSpot adapter. Two stand-ins remain:
the contacts worker (ProfileUpserted -> directory) and the streams worker's fresh pop after a
relink, both replayed from what the routes published."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from connectors.crm.memory import InMemoryCrmAdapter
from connectors.gateway import auth
from connectors.gateway.memory import InMemoryPopTopic
from core.crm.model import CrmContact
from core.layouts import LayoutConfig, LayoutField, TenantLayout
from core.profile_schema import AttributeSpec, ProfileConfig, TenantSchema
from core.profile_search import index_terms
from core.profiles import Profile
from infra.kafka_producer import InMemoryPublisher
from schemas import codec
from schemas.records import DesktopActionTaken, ProfileUpserted
from streams.contacts import profile_of
from streams.settings import StreamSettings
from tests.browser.standin import Call, record, serve
from tests.gateway_helpers import pop, pop_key
from tests.web_twins import SECRET, TWIN_PEPPER, twin_deps, twin_desk
from web.app import create_app

pytestmark = [pytest.mark.browser]

TENANT, AGENT, CALLER = "demo", "agent-a", "+12025550143"
SETTINGS = StreamSettings.from_env({"C360_ENV": "dev", "C360_PII_PEPPER": TWIN_PEPPER.decode()})
SCHEMA = TenantSchema((AttributeSpec("tier", "text", choices=("gold", "silver")),
                       AttributeSpec("renewal", "date"), AttributeSpec("vip", "boolean")))
# A schema requiring an attribute the layout does not show (test_create_form_...).
STRICT = TenantSchema((*SCHEMA.attributes,
                       AttributeSpec("account", "text", "Account number", required=True)))
LAYOUT = TenantLayout(fields=(LayoutField("display_name", editable=True),
                              LayoutField("phones", editable=True),
                              LayoutField("tier", "Tier", editable=True),
                              LayoutField("renewal", "Renewal", editable=True),
                              LayoutField("vip", "VIP", editable=True)))


@dataclasses.dataclass
class Real:
    """The served app, what the panel asked, and the twins behind the routes."""

    url: str
    calls: list[Call]
    topic: InMemoryPopTopic
    desk: Any  # connectors.gateway.desk.ProfileDesk
    crm: InMemoryCrmAdapter
    errors: list[str] = dataclasses.field(default_factory=list)  # uncaught page errors

    def pop(self, **kw: Any) -> str:
        record_ = pop(AGENT, **kw)
        self.topic.append(0, pop_key(record_), codec.encode(record_))
        return record_.interaction_id

    async def upsert(self, record_: ProfileUpserted) -> Profile:
        """What the contacts worker does with a ProfileUpserted."""
        schema = self.desk.schemas.for_tenant(TENANT)
        profile, _dropped = profile_of(record_, SETTINGS, schema)
        await self.desk.profiles.upsert(profile)
        await self.desk.search.replace(TENANT, profile.profile_id, profile.stamp,
                                       index_terms(profile, TWIN_PEPPER))
        return profile


async def workers(real: Real, publisher: InMemoryPublisher) -> None:
    """The contacts worker and the streams worker's fresh pop after a relink, replayed from
    what the routes published."""
    done = 0
    while True:
        await asyncio.sleep(0.05)
        for message in publisher.messages[done:]:
            r = codec.decode(message.value)
            if isinstance(r, ProfileUpserted):
                await real.upsert(r)
            elif isinstance(r, DesktopActionTaken) and r.action == "relink" and r.profile_id:
                found = await real.desk.profiles.get(TENANT, r.profile_id)
                real.pop(iid=r.interaction_id, status="one", trigger="relink",
                         candidates=[(r.profile_id, found.display_name if found else "?")])
        done = len(publisher.messages)


def crm_menu() -> Any:
    """HubSpot by default, Salesforce offered too, the agents' choices in memory."""
    from connectors.crm.routing import CrmRouting, TenantCrm  # noqa: PLC0415
    from connectors.gateway.crms import CrmMenu  # noqa: PLC0415
    from core.activity_log import InMemoryInteractionActivities  # noqa: PLC0415

    routing = CrmRouting("hubspot", {TENANT: TenantCrm("hubspot", {}, ("salesforce",))})
    return CrmMenu(routing, InMemoryInteractionActivities())


@pytest.fixture
async def real() -> AsyncIterator[Real]:
    crm = InMemoryCrmAdapter("hubspot")
    desk = twin_desk(crm="hubspot", adapters={"hubspot": crm}, schemas=ProfileConfig(SCHEMA),
                     layouts=LayoutConfig(LAYOUT))
    topic, publisher = InMemoryPopTopic(partitions=1), InMemoryPublisher()
    base = twin_deps(topic=topic, publisher=publisher)
    gateway = dataclasses.replace(base.gateway, desk=desk)
    gateway = dataclasses.replace(gateway, crm_menu=crm_menu())
    deps = dataclasses.replace(base, gateway=gateway)
    calls: list[Call] = []
    app = create_app(SETTINGS, deps)
    app.middlewares.append(record(calls))
    async with serve(app) as url:
        found = Real(url, calls, topic, desk, crm)
        await found.upsert(ProfileUpserted(
            "e-1", TENANT, datetime.now(tz=UTC), "p-1", "Dave Miller", ("+14155550100",),
            ("dave@example.com",), {"tier": "gold"}))
        crm.contacts["501"] = CrmContact(
            "501", email="dmorgan@example.org", phones=("+14155550199",), first_name="Dave",
            last_name="Morgan", record_url="https://app.hubspot.example/contacts/501")
        task = asyncio.create_task(workers(found, publisher))
        try:
            yield found
        finally:
            task.cancel()


async def open_panel(browser: Browser, real: Real) -> Page:
    token = auth.issue(SECRET, TENANT, AGENT, time.time(), 3600)
    page = await (await browser.new_context(viewport={"width": 560, "height": 1400})).new_page()
    page.on("pageerror", lambda exc: real.errors.append(str(exc)))
    await page.goto(real.url + "/desktop/#token=" + token)
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    return page


async def shows(page: Page, name: str) -> None:
    """The caller section shows `name` from the fresh pop (not "linked, refreshing")."""
    caller = page.locator("#caller")
    await expect(caller.locator(".name")).to_contain_text(name, timeout=20_000)
    await expect(caller.get_by_text("linked, refreshing")).to_have_count(0, timeout=20_000)


def sent(real: Real, method: str, path: str) -> list[Any]:
    return [c.body for c in real.calls if (c.method, c.path) == (method, path)]


async def test_search_pick_create_and_edit_on_the_real_routes(
    browser: Browser, real: Real
) -> None:
    """Search finds the c360 profile and the HubSpot contact; Link on each relinks (the
    CRM one through link-crm-contact, which creates the profile holding it); a phone in
    another format finds the profile; Create makes a profile and a HubSpot contact for an
    unknown caller; Edit shows the layout's editable fields, a refused phone under Phones,
    and saves."""
    page = await open_panel(browser, real)
    iid = real.pop(status="none", candidates=[], phone=CALLER)
    caller = page.locator("#caller")
    await expect(caller).to_contain_text("Not identified", timeout=20_000)
    box = page.get_by_role("searchbox", name="Name, phone, email or attribute")
    results = page.locator("#search-results > li")
    await box.fill("dav")
    await expect(results).to_have_count(2, timeout=10_000)
    await expect(results.locator(".badge")).to_have_text(["c360", "HubSpot"])
    await page.get_by_role("button", name="Link Dave Miller (c360)").click()
    await shows(page, "Dave Miller")

    await box.fill("morgan")
    await page.get_by_role("button", name="Link Dave Morgan (HubSpot)").click()
    await shows(page, "Dave Morgan")
    linked = await real.desk.profiles.get(TENANT, caller_profile := await page.evaluate(
        "window.c360Panel.state.pop.profile_id"))
    assert linked is not None and linked.crm_ids == {"hubspot": "501"}, caller_profile

    await box.fill("(415) 555-0100")
    await expect(results).to_have_count(1, timeout=10_000)
    await expect(results).to_contain_text("Dave Miller")

    iid = real.pop(status="none", candidates=[], phone=CALLER)
    await expect(caller).to_contain_text("Not identified", timeout=20_000)
    await caller.get_by_role("button", name="Create profile…").click()
    dialog = page.get_by_role("dialog", name="Create a profile for this caller")
    await expect(dialog.get_by_label("Phone")).to_have_value(CALLER)
    await dialog.get_by_label("Name").fill("Erin Example")
    # The CRM menu says HubSpot: the contact can be made there too.
    await dialog.get_by_label("Also create the contact in HubSpot").check()
    await dialog.get_by_role("button", name="Create").click()
    await shows(page, "Erin Example")
    assert sent(real, "POST", "/v1/desktop/profiles")[-1]["interaction_id"] == iid
    await expect(page.locator("#notice")).to_contain_text("HubSpot contact c")
    assert [(c.first_name, c.phones) for c in real.crm.contacts.values()
            if c.id != "501"] == [("Erin", (CALLER,))]

    await caller.get_by_role("button", name="Edit Erin Example").click()
    edit = page.get_by_role("dialog", name="Edit Erin Example")
    await expect(edit.locator("#profile-fields label")).to_have_text(
        ["Name", "Phones (comma-separated)", "Tier", "Renewal", "VIP"])
    await expect(edit.get_by_label("Phones")).to_have_value(CALLER)
    await edit.get_by_label("Phones").fill(CALLER + ", call me")
    await edit.get_by_label("Tier").select_option("silver")
    await edit.get_by_label("VIP").check()
    await edit.get_by_role("button", name="Save").click()
    await expect(page.locator("#pf-phones-err")).not_to_be_empty()
    await edit.get_by_label("Phones").fill(CALLER)
    await edit.get_by_role("button", name="Save").click()
    await expect(edit).to_be_hidden()
    await expect(caller.locator(".fields")).to_contain_text("silver")
    pid = await page.evaluate("window.c360Panel.state.pop.profile_id")
    for _ in range(50):
        saved = await real.desk.profiles.get(TENANT, pid)
        if saved is not None and saved.attributes.get("tier") == "silver":
            break
        await asyncio.sleep(0.1)
    assert saved is not None and saved.attributes == {"tier": "silver", "vip": "true"}
    assert real.errors == []


async def test_crm_choice_on_the_real_route(browser: Browser, real: Real) -> None:
    """GET /v1/desktop/crms lists HubSpot (default) and Salesforce: the selector shows the
    default; picking Salesforce publishes choose_crm for the interaction."""
    page = await open_panel(browser, real)
    iid = real.pop(status="one", candidates=[("p-1", "Dave Miller")])
    select = page.get_by_label("Log to CRM")
    await expect(select).to_have_value("hubspot", timeout=20_000)
    await expect(select.locator("option:checked")).to_have_text("HubSpot (default)")
    await select.select_option("salesforce")
    await expect(page.locator("#notice")).to_have_text(
        "Activities of this interaction go to Salesforce.")
    assert [(b["action"], b["interaction_id"], b["crm"])
            for b in sent(real, "POST", "/v1/desktop/actions")] == [
        ("choose_crm", iid, "salesforce")]
    assert real.errors == []


async def test_create_form_asks_the_required_attribute(browser: Browser, real: Real) -> None:
    """The tenant's schema requires an account number: the create form (GET
    /v1/desktop/profile-form) shows it after the layout's editable fields; Create without
    it shows "required" under it and sends nothing; a phone the server refuses shows under
    Phones (422); filled in, the profile is created with the attributes."""
    real.desk.schemas.tenants[TENANT] = STRICT
    page = await open_panel(browser, real)
    iid = real.pop(status="none", candidates=[], phone=CALLER)
    caller = page.locator("#caller")
    await expect(caller).to_contain_text("Not identified", timeout=20_000)
    await caller.get_by_role("button", name="Create profile…").click()
    dialog = page.get_by_role("dialog", name="Create a profile for this caller")
    await expect(dialog.locator("#profile-fields label")).to_have_text([
        "Name (required)", "Phones (comma-separated)", "Emails (comma-separated)", "Tier",
        "Renewal", "VIP", "Account number (required)", "Also create the contact in HubSpot"])
    await expect(dialog.get_by_label("Phones")).to_have_value(CALLER)
    await dialog.get_by_label("Name").fill("Fay Required")
    await dialog.get_by_role("button", name="Create").click()
    await expect(page.locator("#pf-account-err")).to_have_text("required")
    await expect(dialog.get_by_label("Account number")).to_be_focused()
    assert sent(real, "POST", "/v1/desktop/profiles") == []

    await dialog.get_by_label("Account number").fill("AC-9")
    await dialog.get_by_label("Phones").fill(CALLER + ", call me")
    await dialog.get_by_role("button", name="Create").click()
    await expect(page.locator("#pf-phones-err")).not_to_be_empty()
    await expect(page.locator("#pf-account-err")).to_be_empty()
    await expect(dialog).to_be_visible()

    await dialog.get_by_label("Phones").fill(CALLER)
    await dialog.get_by_label("Tier").select_option("gold")
    await dialog.get_by_role("button", name="Create").click()
    await shows(page, "Fay Required")
    body = sent(real, "POST", "/v1/desktop/profiles")[-1]
    assert (body["interaction_id"], body["phones"], body["attributes"]) == (
        iid, [CALLER], {"tier": "gold", "account": "AC-9"})
    pid = await page.evaluate("window.c360Panel.state.pop.profile_id")
    created = await real.desk.profiles.get(TENANT, pid)
    assert created is not None and created.attributes == {"tier": "gold", "account": "AC-9"}
    assert real.errors == []

