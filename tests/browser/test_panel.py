"""The agent panel in real headless Chromium against the real broker, Redis and web.service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Producer
from playwright.async_api import Browser, Page, expect

from c360.devsignin import signin_lines
from schemas import codec
from schemas.records import DesktopActionTaken
from schemas.topics import DESKTOP, SCREENPOPS
from streams.settings import StreamSettings
from tests.browser.standin import serve
from tests.gateway_helpers import insights_doc, pop, pop_key, timeline_item
from tests.kafka_helpers import Received, produce_sync
from web.app import create_app
from web.bootstrap import build_web_deps

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHOTS = "/tmp"


@pytest.fixture
async def base_url(
    kafka_bootstrap: str, topic_prefix: str, redis_url: str, redis_namespace: str
) -> AsyncIterator[str]:
    """web.service's whole app (dev mode) on a free port, on the session broker and Redis."""
    settings = StreamSettings.from_env({
        "C360_ENV": "dev", "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "C360_TOPIC_PREFIX": topic_prefix, "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": redis_namespace,
    })
    async with serve(create_app(settings, build_web_deps(settings))) as url:
        yield url


async def sign_in(
    browser: Browser, base_url: str, agent: str, path: str = "/", idle: bool = True
) -> Page:
    """Open the panel in its own browser context and sign in as `agent` (dev login)."""
    context = await browser.new_context(viewport={"width": 560, "height": 1400})
    page = await context.new_page()
    await page.goto(base_url + path)
    await page.get_by_label("Agent id").fill(agent)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    if idle:
        await expect(page.get_by_text("Waiting for a call")).to_be_visible()
    return page


Publish = Callable[..., Awaitable[str]]


@pytest.fixture
def publish(kafka_producer: Producer, topic_prefix: str) -> Publish:
    """publish(agent, **pop fields): a ScreenPopRequested on the real screen-pop topic;
    returns its interaction id."""

    async def send(agent: str, **kw: Any) -> str:
        record = pop(agent, **kw)
        await asyncio.to_thread(produce_sync, kafka_producer, topic_prefix + SCREENPOPS,
                                codec.encode(record), pop_key(record))
        return record.interaction_id

    return send


def actions_in(records: Sequence[Received]) -> list[DesktopActionTaken]:
    """Decode what is on the desktop topic."""
    return [codec.decode(r.value) for r in records if r.value]


DesktopActions = Callable[[Callable[[list[DesktopActionTaken]], bool]],
                          Awaitable[list[DesktopActionTaken]]]


@pytest.fixture
def desktop_actions(
    topic_prefix: str, consume_until: Callable[..., list[Received]]
) -> DesktopActions:
    """desktop_actions(done): the actions on the real desktop topic once done(actions)."""

    async def wait(done: Callable[[list[DesktopActionTaken]], bool]) -> list[DesktopActionTaken]:
        records = await asyncio.to_thread(consume_until, topic_prefix + DESKTOP,
                                          lambda rs: done(actions_in(rs)))
        return actions_in(records)

    return wait


async def test_panel_pop_relink_and_note(
    base_url: str,
    browser: Browser,
    publish: Publish,
    desktop_actions: DesktopActions,
) -> None:
    """A's panel shows A's pop (caller, timeline, insights), B's does not; relink and
    add-note publish DesktopActionTaken records to the desktop topic."""
    page_a = await sign_in(browser, base_url, "agent-a")
    page_b = await sign_in(browser, base_url, "agent-b")

    iid_a = await publish("agent-a", insights=insights_doc())
    caller = page_a.locator("#caller")
    await expect(caller).to_contain_text("2 matches", timeout=20_000)
    await expect(caller).to_contain_text("+442079460123")
    items = page_a.locator("#timeline .items > li")
    await expect(items).to_have_count(3)
    await expect(items.nth(0)).to_contain_text("Billing question")
    await expect(items.nth(0)).to_contain_text("2 days ago")
    failed = page_a.locator("#timeline li.failed")
    await expect(failed).to_have_count(1)
    await expect(failed).to_contain_text("Failed")
    await expect(page_a.locator("#insights")).to_contain_text("Neutral")
    await expect(page_a.locator("#insights")).to_contain_text("refund")
    await expect(page_a.locator("#insights")).to_contain_text("Refund for order 1182")
    await expect(page_a.locator("#related")).to_contain_text("hubspot call 991")
    await page_a.screenshot(path=f"{SHOTS}/c360-panel-pop.png", full_page=True)

    await page_a.get_by_role("button", name="Email").click()
    await expect(items).to_have_count(1)
    await expect(items.nth(0)).to_contain_text("Refund request")
    await page_a.get_by_role("button", name="All", exact=True).click()
    await expect(items).to_have_count(3)

    # B's own pop, published after A's: had A's reached B it would have come first.
    iid_b = await publish("agent-b", status="none", candidates=[], phone="+12025550143")
    await expect(page_b.locator("#caller")).to_contain_text("Not identified", timeout=20_000)
    await expect(page_b.locator("#caller")).to_contain_text("+12025550143")
    assert await page_b.evaluate("window.c360Panel.state.received") == [iid_b]
    assert await page_a.evaluate("window.c360Panel.state.received") == [iid_a]
    await expect(page_b.locator("#caller")).not_to_contain_text("Alice")

    # choose the caller among the matches, then relink to the other candidate
    await page_a.get_by_role("button", name="Open Alice Smith").click()
    await expect(caller.locator(".name")).to_contain_text("Alice Smith")
    await page_a.get_by_role("button", name="Relink…").click()
    dialog = page_a.get_by_role("dialog")
    await expect(dialog.get_by_label("Alice Jones")).to_be_checked()
    await page_a.screenshot(path=f"{SHOTS}/c360-panel-relink.png")
    await dialog.get_by_role("button", name="Relink", exact=True).click()
    await expect(dialog).to_be_hidden()
    await expect(caller.locator(".name")).to_contain_text("Alice Jones")

    # the streams worker answers a relink with a fresh pop naming only the linked profile;
    # the panel shows it and still offers the interaction's other match for relinking
    await publish("agent-a", iid=iid_a, status="one", candidates=[("p-2", "Alice Jones")])
    await expect(caller.get_by_text("linked, refreshing")).to_have_count(0, timeout=20_000)
    await expect(caller.locator(".fields")).to_contain_text("gold")
    await page_a.get_by_role("button", name="Relink…").click()
    await expect(dialog.get_by_label("Alice Smith")).to_be_checked()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()

    await page_a.get_by_label("Text").fill("Customer asked for a callback tomorrow.")
    await page_a.get_by_role("button", name="Save").click()
    await expect(page_a.locator("#note-status")).to_have_text("Note saved.")
    await page_a.screenshot(path=f"{SHOTS}/c360-panel-after.png", full_page=True)

    # a reload keeps the pop on screen and resumes after it: the next pop arrives once
    await page_a.reload()
    await expect(page_a.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    await expect(caller).to_contain_text("+442079460123")
    iid_next = await publish("agent-a", status="one", candidates=[("p-3", "Carol Chen")])
    await expect(caller.locator(".name")).to_contain_text("Carol Chen", timeout=20_000)
    assert await page_a.evaluate("window.c360Panel.state.received") == [iid_next]
    await expect(page_a.locator("#timeline .items > li").first).to_contain_text("Billing")

    found = await desktop_actions(
        lambda got: {a.action for a in got} >= {"open_profile", "relink", "add_note"}
    )
    by_action = {a.action: a for a in found}
    assert len(found) == 3
    assert all((a.tenant_id, a.agent_id, a.interaction_id) == ("demo", "agent-a", iid_a)
               for a in found)
    assert by_action["open_profile"].profile_id == "p-1"
    assert by_action["relink"].profile_id == "p-2"
    assert by_action["add_note"].text == "Customer asked for a callback tomorrow."


async def test_panel_opened_after_the_pops_replays_the_recent_ones(
    base_url: str,
    browser: Browser,
    publish: Publish,
    desktop_actions: DesktopActions,
) -> None:
    """As in the demo, the calls ring before any panel is open: A's panel opens on A's
    current call with A's earlier recent call in the Recent list (not a re-popped call that
    ended long ago, not B's); going back to the earlier call and adding a note there
    produces add_note for that interaction; a later relink pop of it does not take the
    screen from the current call."""
    now = datetime.now(tz=UTC)
    old_end = now - timedelta(days=20)

    # a history replay re-pops an interaction that ended weeks ago (pop time: now)
    await publish("agent-a", iid="ix-history", status="one", candidates=[("p-9", "Old Call")],
                  timeline=[timeline_item("ix-history", "voice", old_end - timedelta(minutes=5),
                                          ended_at=old_end.isoformat(), title="Old call")])
    earlier = await publish("agent-a", status="one", candidates=[("p-3", "Carol Chen")],
                            occurred_at=now - timedelta(minutes=6))
    current = await publish("agent-a", status="one", candidates=[("p-1", "Alice Smith")])
    await publish("agent-b", status="one", candidates=[("p-5", "Bob Brown")])

    page_a = await sign_in(browser, base_url, "agent-a", path="/panel", idle=False)
    page_b = await sign_in(browser, base_url, "agent-b", idle=False)
    caller = page_a.locator("#caller")
    await expect(caller.locator(".name")).to_contain_text("Alice Smith", timeout=20_000)
    assert await page_a.evaluate("window.c360Panel.state.received") == [earlier, current]
    recent = page_a.get_by_role("navigation", name="Recent interactions")
    await expect(recent.get_by_role("button")).to_have_count(2)
    await expect(recent.get_by_role("button").nth(0)).to_contain_text("Alice Smith")
    await expect(recent.get_by_role("button").nth(0)).to_have_attribute("aria-current", "true")
    await expect(recent.get_by_role("button").nth(1)).to_contain_text("minutes ago")
    await expect(page_b.locator("#caller .name")).to_contain_text("Bob Brown", timeout=20_000)
    await expect(page_b.get_by_role("navigation", name="Recent interactions")).to_be_hidden()
    await page_a.screenshot(path=f"{SHOTS}/c360-panel-recent.png", full_page=True)

    await recent.get_by_role("button", name="Carol Chen").click()
    await expect(caller.locator(".name")).to_contain_text("Carol Chen")
    await page_a.get_by_label("Text").fill("Wrap-up: sent the refund form.")
    await page_a.get_by_role("button", name="Save").click()
    await expect(page_a.locator("#note-status")).to_have_text("Note saved.")
    # the choice survives a reload, and nothing is popped again
    await page_a.reload()
    await expect(page_a.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    await expect(caller.locator(".name")).to_contain_text("Carol Chen")
    await expect(recent.get_by_role("button")).to_have_count(2)
    assert await page_a.evaluate("window.c360Panel.state.received") == []

    # back on the current call, the pop re-sent after a relink of the earlier one refreshes
    # its Recent entry without taking the screen away from the current call
    await recent.get_by_role("button", name="Alice Smith").click()
    await expect(caller.locator(".name")).to_contain_text("Alice Smith")
    await publish("agent-a", iid=earlier, status="one", candidates=[("p-4", "Carol Chen-Ruiz")],
                  trigger="relink")
    await expect(recent.get_by_role("button", name="Carol Chen-Ruiz")).to_be_visible(
        timeout=20_000)
    await expect(caller.locator(".name")).to_contain_text("Alice Smith")
    await expect(recent.get_by_role("button")).to_have_count(2)

    found = await desktop_actions(lambda got: any(a.action == "add_note" for a in got))
    assert [(a.action, a.agent_id, a.interaction_id, a.text) for a in found] == [
        ("add_note", "agent-a", earlier, "Wrap-up: sent the refund form.")
    ]


async def test_old_pops_show_as_earlier_calls_never_as_ringing(
    base_url: str, browser: Browser, publish: Publish
) -> None:
    """A backlog worked through pops calls that rang long ago (pop time: now, ring time:
    days ago): a fresh panel shows the newest as an earlier call, not as a new one; a call
    ringing now takes the screen as new; an old pop arriving live then does not take it."""
    now = datetime.now(tz=UTC)
    for days in (25, 5):
        await publish("agent-e", status="one", candidates=[(f"p-{days}", f"Old {days}")],
                      occurred_at=now, rang_at=now - timedelta(days=days, minutes=-1))
    # ...and one rang 10 minutes ago, inside the replay window but past the freshness one
    await publish("agent-e", status="one", candidates=[("p-10", "Ten Minutes")],
                  occurred_at=now, rang_at=now - timedelta(minutes=10))

    page = await sign_in(browser, base_url, "agent-e", idle=False)
    caller = page.locator("#caller")
    await expect(caller.locator(".name")).to_contain_text("Ten Minutes", timeout=20_000)
    await expect(caller).to_have_attribute("data-when", "earlier")
    await expect(caller).to_contain_text("Earlier call")
    await expect(caller).to_contain_text("not ringing now")
    await expect(caller).not_to_contain_text("New call")
    # the 5- and 25-day-old rings were not replayed at all
    assert await page.evaluate("window.c360Panel.state.received") == [
        await page.evaluate("window.c360Panel.state.pop.interaction_id")]

    live = await publish("agent-e", status="one", candidates=[("p-1", "Alice Smith")])
    await expect(caller.locator(".name")).to_contain_text("Alice Smith", timeout=20_000)
    await expect(caller).to_have_attribute("data-when", "live")
    await expect(caller).to_contain_text("New call")

    late = await publish("agent-e", status="one", candidates=[("p-7", "Late Pop")],
                         occurred_at=datetime.now(tz=UTC), rang_at=now - timedelta(hours=2))
    recent = page.get_by_role("navigation", name="Recent interactions")
    await expect(recent.get_by_role("button", name="Late Pop")).to_be_visible(timeout=20_000)
    await expect(caller.locator(".name")).to_contain_text("Alice Smith")
    await expect(caller).to_have_attribute("data-when", "live")
    assert (await page.evaluate("window.c360Panel.state.received"))[-2:] == [live, late]
    await page.screenshot(path=f"{SHOTS}/c360-panel-earlier.png", full_page=True)

    # once past the window (shrunk here), the call on screen is no longer "New call"
    await page.evaluate("window.c360Panel.state.freshMs = 1")
    await expect(caller).to_have_attribute("data-when", "aged", timeout=20_000)
    await expect(caller).not_to_contain_text("New call")
    await expect(caller).to_contain_text("Rang")


async def test_the_banner_sign_in_link_opens_the_panel_signed_in(
    browser: Browser, base_url: str
) -> None:
    """The dev banner's sign-in link (agent-1 of the demo tenant, the token in the URL
    fragment) opens the panel live as that agent, and the token leaves the address bar."""
    lines = signin_lines(base_url, {"C360_ENV": "dev"})
    link = next(word for line in lines for word in line.split() if "#token=" in word)
    assert link.startswith(base_url + "/desktop/#token=")
    page = await (await browser.new_context()).new_page()
    await page.goto(link)
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    await expect(page.locator("#who")).to_have_text("agent-1 · demo")
    await expect(page.get_by_text("Waiting for a call")).to_be_visible()
    assert "#" not in page.url
    assert page.url == base_url + "/desktop/"
    # The token is kept for the tab, as a dev login keeps it: a reload stays signed in.
    await page.reload()
    await expect(page.locator("#who")).to_have_text("agent-1 · demo")
