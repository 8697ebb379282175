"""The panel's "Connect <CRM>" in headless Chromium against the real per-agent sign-in
routes (connectors.gateway.crm_oauth_web) and the Zendesk emulator's authorization-code
grant: the popup goes through the emulator's consent page back to the callback, and once
the agent closes it the button is gone."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from connectors.crm.agent_oauth import AgentOAuth
from connectors.gateway import auth
from connectors.gateway.crms import CrmIdentity
from connectors.gateway.memory import InMemoryPopTopic
from infra.settings_crm_oauth import OAuthApp
from infra.token_crypto import FernetSealer, new_key
from projections.memory_agent_tokens import InMemoryAgentTokens
from schemas import codec
from streams.settings import StreamSettings
from tests.browser.standin import serve
from tests.emulators.zendesk import ZendeskEmulator
from tests.gateway_helpers import pop, pop_key
from tests.web_twins import SECRET, twin_deps
from web.app import create_app

pytestmark = [pytest.mark.browser]


@dataclasses.dataclass
class Service:
    url: str
    topic: InMemoryPopTopic
    tokens: InMemoryAgentTokens


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    """The web service on twins with per-agent sign-in on for Zendesk (its emulator)."""
    emulator = ZendeskEmulator()
    await emulator.start()
    tokens = InMemoryAgentTokens(FernetSealer([new_key()]), b"id-key")
    oauth = AgentOAuth({}, tokens, b"state-secret")
    topic = InMemoryPopTopic(partitions=1)
    deps = dataclasses.replace(twin_deps(topic=topic), crm_identity=CrmIdentity(oauth))
    try:
        async with serve(create_app(StreamSettings.from_env({"C360_ENV": "dev"}), deps)) as url:
            oauth.apps["zendesk"] = OAuthApp(
                crm="zendesk", client_id=emulator.oauth_client_id,
                client_secret=emulator.oauth_client_secret,
                authorize_url=emulator.url + emulator.authorize_path,
                token_url=emulator.url + emulator.token_paths[0], scopes="read write",
                redirect_url=url + "/v1/desktop/crm/zendesk/callback", pkce=True)
            yield Service(url, topic, tokens)
    finally:
        await emulator.stop()


async def test_connect_opens_the_crm_sign_in_and_the_button_goes(
    browser: Browser, service: Service
) -> None:
    page = await (await browser.new_context()).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    token = auth.issue(SECRET, "demo", "agent-a", time.time(), 3600)
    await page.goto(service.url + "/desktop/#token=" + token)
    await expect(page.locator("body")).to_have_attribute("data-conn", "live", timeout=20_000)
    record = pop("agent-a", status="one", candidates=[("p-1", "Alice Smith")])
    service.topic.append(0, pop_key(record), codec.encode(record))

    button = page.get_by_role("button", name="Connect Zendesk")
    await expect(button).to_be_visible(timeout=20_000)
    async with page.expect_popup() as opened:
        await button.click()
    popup = await opened.value
    await expect(popup.locator("body")).to_contain_text("Connected", timeout=20_000)
    assert "/v1/desktop/crm/zendesk/callback?" in popup.url
    await popup.close()
    await expect(button).to_have_count(0, timeout=10_000)
    assert await service.tokens.connected("demo", "agent-a") == {"zendesk"}
    assert errors == []
