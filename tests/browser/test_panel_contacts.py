"""The panel's contact flows in real headless Chromium: search (c360 and CRM results), pick,
create, edit and CRM choice, against the desktop routes of the issue-11 contract.

`desk` is the one fixture to swap: here the in-memory stand-in (tests/browser/standin.py);
for the real routes, serve web.app.create_app with `standin.record(calls)` appended to its
middlewares and seed the same data (profiles, CRM contacts, CRMs, editable layout)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.standin import Call, StandIn, serve

pytestmark = [pytest.mark.browser]

SHOTS = "/tmp"
CALLER = "+12025550143"


@pytest.fixture
async def desk() -> AsyncIterator[StandIn]:
    """The desktop routes on dicts, seeded with two c360 profiles and one HubSpot contact."""
    stand_in = StandIn()
    stand_in.profiles.update({
        "p-1": {"display_name": "Dave Miller", "phones": ["+442079460001"],
                "emails": ["dave@example.com"], "attributes": {"tier": "gold"}, "crm_ids": {}},
        "p-2": {"display_name": "Alice Smith", "phones": ["+442079460002"], "emails": [],
                "attributes": {}, "crm_ids": {}},
    })
    stand_in.crm_contacts.append({
        "crm": "hubspot", "crm_id": "501", "display_name": "Dave Morgan",
        "phones": ["+442079460099"], "emails": ["dmorgan@example.org"],
        "record_url": "https://app.hubspot.example/contacts/501"})
    async with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in


@pytest.fixture
def page_errors() -> Iterator[list[str]]:
    """Uncaught script errors of the pages opened with it: none by the end of the test."""
    errors: list[str] = []
    yield errors
    assert errors == []


async def open_panel(browser: Browser, desk: StandIn, errors: list[str]) -> Page:
    """The panel signed in with a token in the URL fragment, its stream live."""
    context = await browser.new_context(viewport={"width": 560, "height": 1400})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(desk.url + "/desktop/#token=stand-in")
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    return page


def posted(desk: StandIn, path: str, method: str = "POST") -> list[Any]:
    """The JSON bodies the panel sent to `path`."""
    return [c.body for c in desk.calls if (c.method, c.path) == (method, path)]


def asked(desk: StandIn, path: str) -> list[Call]:
    return [c for c in desk.calls if (c.method, c.path) == ("GET", path)]


async def test_search_shows_sources_and_picking_links_the_interaction(
    browser: Browser, desk: StandIn, page_errors: list[str]
) -> None:
    """Search works with no call on screen (no Link buttons); on a call, a name prefix finds
    the c360 profile and the CRM contact with their source badges, a failing CRM is a
    notice; picking the c360 result relinks, picking the CRM result posts
    link-crm-contact; the pop that follows shows the linked profile. No profile id to type."""
    desk.crm_errors.append({"source": "salesforce", "message": "timed out"})
    page = await open_panel(browser, desk, page_errors)
    box = page.get_by_role("searchbox", name="Name, phone, email or attribute")
    results = page.locator("#search-results > li")
    await box.fill("dav")
    await expect(results).to_have_count(2)
    await expect(results.get_by_role("button")).to_have_count(0)  # nothing to link yet
    assert asked(desk, "/v1/desktop/search")[-1].query == {"q": "dav"}

    iid = desk.pop(status="none", candidates=[], phone=CALLER)
    caller = page.locator("#caller")
    await expect(caller).to_contain_text("Not identified", timeout=20_000)
    await expect(results.get_by_role("button")).to_have_count(2)
    await expect(page.locator("#relink-other")).to_have_count(0)

    await box.fill("")
    await box.press_sequentially("Dav")
    await box.press("Enter")
    await expect(page.locator("#search-status")).to_have_text("2 contacts found.")
    assert asked(desk, "/v1/desktop/search")[-1].query == {"q": "Dav", "interaction_id": iid}
    await expect(results.nth(0).locator(".badge")).to_have_text("c360")
    await expect(results.nth(0)).to_contain_text("Dave Miller")
    await expect(results.nth(0)).to_contain_text("dave@example.com")
    await expect(results.nth(1).locator(".badge")).to_have_text("HubSpot")
    await expect(results.nth(1).get_by_role("link", name="Open Dave Morgan in HubSpot")
                 ).to_have_attribute("href", "https://app.hubspot.example/contacts/501")
    await expect(page.locator("#search-errors")).to_have_text(
        "Salesforce could not be searched: timed out. ")
    await page.screenshot(path=f"{SHOTS}/c360-panel-search.png", full_page=True)

    await page.get_by_role("button", name="Link Dave Miller (c360)").click()
    await expect(caller.locator(".name")).to_contain_text("Dave Miller", timeout=20_000)
    await expect(results).to_have_count(0)
    relinks = [b for b in posted(desk, "/v1/desktop/actions") if b["action"] == "relink"]
    assert [(b["interaction_id"], b["profile_id"]) for b in relinks] == [(iid, "p-1")]

    # Esc clears the box and its results
    await box.fill("morgan")
    await expect(results).to_have_count(1)
    await box.press("Escape")
    await expect(results).to_have_count(0)
    await expect(box).to_have_value("")

    await box.fill("morgan")
    await page.get_by_role("button", name="Link Dave Morgan (HubSpot)").click()
    await expect(caller.locator(".name")).to_contain_text("Dave Morgan", timeout=20_000)
    assert posted(desk, "/v1/desktop/link-crm-contact") == [{
        "interaction_id": iid, "crm": "hubspot", "crm_id": "501", "display_name": "Dave Morgan",
        "phones": ["+442079460099"], "emails": ["dmorgan@example.org"]}]

    # a CRM's data is text, never markup; a record URL that is not http(s) is no link
    desk.crm_contacts.append({"crm": "zendesk", "crm_id": "9", "phones": [], "emails": [],
                              "display_name": "<img src=x onerror=alert(1)>",
                              "record_url": "javascript:alert(1)"})
    await box.fill("<img")
    await expect(results).to_have_count(1)
    await expect(results.locator("strong")).to_have_text("<img src=x onerror=alert(1)>")
    await expect(results.locator("img, a")).to_have_count(0)


async def test_create_profile_for_an_unknown_caller(
    browser: Browser, desk: StandIn, page_errors: list[str]
) -> None:
    """An unknown caller: "Create profile…" opens a form with the caller's number; the name
    is required; "also create in HubSpot" goes in the body; the fresh pop shows the new
    profile."""
    desk.crms.update({"crms": ["hubspot"], "default": "hubspot"})
    page = await open_panel(browser, desk, page_errors)
    iid = desk.pop(status="none", candidates=[], phone=CALLER)
    caller = page.locator("#caller")
    await expect(caller).to_contain_text("Not identified", timeout=20_000)
    await caller.get_by_role("button", name="Create profile…").click()
    dialog = page.get_by_role("dialog", name="Create a profile for this caller")
    await expect(dialog.get_by_label("Phone")).to_have_value(CALLER)
    await expect(dialog.get_by_label("Email")).to_have_value("")
    await dialog.get_by_role("button", name="Create").click()
    await expect(page.locator("#pf-display_name-err")).to_have_text("enter the customer's name")
    assert posted(desk, "/v1/desktop/profiles") == []

    await dialog.get_by_label("Name").fill("Erin Example")
    await dialog.get_by_label("Also create the contact in HubSpot").check()
    await page.screenshot(path=f"{SHOTS}/c360-panel-create.png")
    await dialog.get_by_role("button", name="Create").click()
    await expect(dialog).to_be_hidden()
    await expect(caller.locator(".name")).to_contain_text("Erin Example", timeout=20_000)
    [created] = posted(desk, "/v1/desktop/profiles")
    attempt = created.pop("client_action_id")  # one per dialog: a retried submit reuses it
    assert len(attempt) == 32 and created == {
        "interaction_id": iid, "display_name": "Erin Example", "phones": [CALLER], "emails": [],
        "attributes": {}, "create_in_crm": True, "crm": "hubspot"}
    await expect(page.locator("#notice")).to_contain_text("HubSpot contact c-new")
    # /crms said nothing of per-agent sign-in: the panel asked the sign-in route itself
    assert asked(desk, "/v1/desktop/crm/connections")


async def test_edit_shows_only_editable_fields_and_the_problems(
    browser: Browser, desk: StandIn, page_errors: list[str]
) -> None:
    """Edit lists the layout's editable fields with an input per type, shows a 422 problem
    at its field, then PATCHes only what changed; Esc closes the dialog."""
    desk.editable.extend([
        {"name": "display_name", "label": "Name", "type": "text", "required": True},
        {"name": "phones", "label": "Phones", "type": "list", "required": False},
        {"name": "tier", "label": "Tier", "type": "text", "required": False,
         "choices": ["gold", "silver"]},
        {"name": "lifetime_value", "label": "Lifetime value", "type": "number",
         "required": False},
        {"name": "renewal", "label": "Renewal", "type": "date", "required": False},
        {"name": "vip", "label": "VIP", "type": "boolean", "required": False},
    ])
    page = await open_panel(browser, desk, page_errors)
    desk.pop(status="one", candidates=[("p-1", "Dave Miller")])
    caller = page.locator("#caller")
    await expect(caller.locator(".name")).to_contain_text("Dave Miller", timeout=20_000)

    await caller.get_by_role("button", name="Edit Dave Miller").click()
    dialog = page.get_by_role("dialog", name="Edit Dave Miller")
    fields = dialog.locator("#profile-fields label")
    await expect(fields).to_have_text(
        ["Name (required)", "Phones (comma-separated)", "Tier", "Lifetime value", "Renewal",
         "VIP"])
    await expect(dialog.get_by_label("Name (required)")).to_have_value("Dave Miller")
    await expect(dialog.get_by_label("Tier")).to_have_value("gold")
    await expect(dialog.get_by_label("Phones")).to_have_value("+442079460001")
    assert await dialog.get_by_label("Renewal").get_attribute("type") == "date"
    assert await dialog.get_by_label("Lifetime value").get_attribute("type") == "number"
    assert await dialog.get_by_label("VIP").get_attribute("type") == "checkbox"
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert posted(desk, "/v1/desktop/profiles/p-1", "PATCH") == []

    await caller.get_by_role("button", name="Edit Dave Miller").click()
    await dialog.get_by_label("Tier").select_option("silver")
    await dialog.get_by_label("Lifetime value").fill("-5")
    await dialog.get_by_label("Renewal").fill("2026-06-30")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.locator("#pf-lifetime_value-err")).to_have_text("must not be negative")
    await expect(dialog.get_by_label("Lifetime value")).to_be_focused()
    await expect(page.locator("#profile-msg")).to_have_text("Correct the fields marked above.")
    await page.screenshot(path=f"{SHOTS}/c360-panel-edit.png")

    await dialog.get_by_label("Lifetime value").fill("1200")
    await dialog.get_by_label("VIP").check()
    await dialog.get_by_label("Phones").fill("+442079460001, +442079460077")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#notice")).to_have_text("Profile saved.")
    await expect(caller.locator(".fields")).to_contain_text("silver")
    assert posted(desk, "/v1/desktop/profiles/p-1", "PATCH")[-1] == {
        "phones": ["+442079460001", "+442079460077"],
        "attributes": {"tier": "silver", "lifetime_value": 1200, "renewal": "2026-06-30",
                       "vip": True}}
    assert desk.profiles["p-1"]["attributes"]["tier"] == "silver"


async def test_crm_choice_and_connect(
    browser: Browser, desk: StandIn, page_errors: list[str]
) -> None:
    """Two CRMs: the selector shows the routing default, a change posts choose_crm; the CRM
    the agent is not connected to offers Connect, which opens its authorize URL in a popup;
    where the connect route 404s the button goes away."""
    desk.crms.update({"crms": ["hubspot", "salesforce"], "default": "hubspot", "chosen": None,
                      "connected": {"hubspot": True, "salesforce": False}})
    page = await open_panel(browser, desk, page_errors)
    iid = desk.pop(status="one", candidates=[("p-2", "Alice Smith")])
    select = page.get_by_label("Log to CRM")
    await expect(select).to_have_value("hubspot", timeout=20_000)
    await expect(select.locator("option:checked")).to_have_text("HubSpot (default)")
    assert asked(desk, "/v1/desktop/crms")[-1].query == {"interaction_id": iid}
    await select.select_option("salesforce")
    await expect(page.locator("#notice")).to_have_text(
        "Activities of this interaction go to Salesforce.")
    chosen = [b for b in posted(desk, "/v1/desktop/actions") if b["action"] == "choose_crm"]
    assert [(b["interaction_id"], b["crm"]) for b in chosen] == [(iid, "salesforce")]

    await expect(page.get_by_role("button", name="Connect HubSpot")).to_have_count(0)
    async with page.expect_popup() as popup_info:
        await page.get_by_role("button", name="Connect Salesforce").click()
    popup = await popup_info.value
    await popup.wait_for_url("**/standin/authorize?crm=salesforce")
    await popup.close()
    await page.screenshot(path=f"{SHOTS}/c360-panel-crm.png")

    desk.connect_route = False
    await page.get_by_role("button", name="Connect Salesforce").click()
    await expect(page.get_by_role("button", name="Connect Salesforce")).to_have_count(0)
    await expect(select).to_have_value("salesforce")
