"""Per-agent CRM identity against every OAuth CRM emulator: the connect flow through the
service's routes (real redirects), writes as the agent, refresh rotation, revocation
fallback, and the refusals of the callback (always a 400 page, never a 500)."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from connectors.crm.agent_adapters import AgentAdapters
from connectors.crm.agent_oauth import AgentOAuth, ConnectFailed
from connectors.crm.factory import build_adapter
from connectors.crm.ledger import InMemoryActivityLedger
from connectors.crm.routing import CrmRouting
from connectors.crm.settings import CrmSettingsSet
from connectors.crm.sink import FELL_BACK, CrmSink
from connectors.gateway import auth
from connectors.gateway.crms import CrmIdentity
from core.crm.agent_auth import AgentTokens
from infra.settings_crm_oauth import OAuthApp
from infra.token_crypto import FernetSealer, new_key
from projections.memory_agent_tokens import InMemoryAgentTokens
from streams.settings import StreamSettings
from tests.contract.net import closed_port
from tests.emulators import dynamics365, hubspot, salesforce, zendesk, zoho
from tests.emulators.base import SERVICE_USER, Emulator
from tests.unit.crm.samples import activity
from tests.web_twins import SECRET, twin_deps
from web.app import create_app

ALICE, BOB = "alice@example.com", "bob@example.com"
EMULATORS = {"salesforce": salesforce.SalesforceEmulator, "hubspot": hubspot.HubSpotEmulator,
             "zendesk": zendesk.ZendeskEmulator, "zoho": zoho.ZohoEmulator,
             "dynamics365": dynamics365.Dynamics365Emulator}
PKCE = {"salesforce": True, "hubspot": False, "zendesk": True, "zoho": False,
        "dynamics365": True}


@dataclasses.dataclass
class World:
    """The service (twins + the connect flow), one emulator, and the token store."""

    crm: str
    emulator: Emulator
    client: TestClient[Any, Any]
    oauth: AgentOAuth
    store: InMemoryAgentTokens
    session: aiohttp.ClientSession

    def desktop(self, agent: str) -> dict[str, str]:
        token = auth.issue(SECRET, "acme", agent, time.time(), 600)
        return {"Authorization": f"Bearer {token}"}

    async def authorize_url(self, agent: str = ALICE) -> str:
        resp = await self.client.get(f"/v1/desktop/crm/{self.crm}/connect",
                                     headers=self.desktop(agent))
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["authorize_url"])

    async def callback_url(self, agent: str = ALICE) -> str:
        """Where the CRM sends the browser back (redirect not followed)."""
        async with self.session.get(await self.authorize_url(agent),
                                    allow_redirects=False) as resp:
            assert resp.status == 302
            return resp.headers["Location"]

    async def connect(self, agent: str = ALICE) -> tuple[int, str]:
        """The browser's whole trip: authorize page -> redirect -> callback page."""
        async with self.session.get(await self.authorize_url(agent)) as resp:
            return resp.status, await resp.text()

    async def get(self, url: str) -> tuple[int, str]:
        async with self.session.get(url) as resp:
            return resp.status, await resp.text()

    def sink(self, clock: Any = time.time) -> CrmSink:
        settings = CrmSettingsSet.from_env(self.emulator.env())
        service = build_adapter(self.crm, settings, self.session)
        agents = AgentAdapters(self.oauth.apps, self.store, settings, self.session, clock)
        return CrmSink({self.crm: service}, CrmRouting(self.crm), InMemoryActivityLedger(),
                       create_contacts=True, agent_adapters=agents)

    def writer(self) -> str:
        """Who the emulator saw make the last activity write."""
        writes = [who for method, path, who in self.emulator.callers
                  if method == self.emulator.write_method
                  and (not self.emulator.write_path or re.search(self.emulator.write_path,
                                                                  path))]
        assert writes, self.emulator.callers
        return writes[-1]


def _app(emulator: Emulator, crm: str, redirect: str, *, pkce: bool) -> OAuthApp:
    token_path = emulator.token_paths[0]
    return OAuthApp(crm=crm, client_id=emulator.oauth_client_id,
                    client_secret=emulator.oauth_client_secret,
                    authorize_url=emulator.url + emulator.authorize_path,
                    token_url=emulator.url + token_path, scopes="api refresh_token",
                    redirect_url=redirect, pkce=pkce,
                    authorize_extra={"access_type": "offline"} if crm == "zoho" else {})


@pytest.fixture(params=sorted(EMULATORS))
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    """The service with per-agent identity on for one CRM, pointed at its emulator."""
    crm = str(request.param)
    emulator = EMULATORS[crm]()
    await emulator.start()
    store = InMemoryAgentTokens(FernetSealer([new_key()]), b"id-key")
    oauth = AgentOAuth({}, store, b"state-secret")
    deps = dataclasses.replace(twin_deps(), crm_identity=CrmIdentity(oauth))
    client = TestClient(TestServer(create_app(StreamSettings.from_env({"C360_ENV": "dev"}),
                                              deps)))
    await client.start_server()
    redirect = str(client.make_url(f"/v1/desktop/crm/{crm}/callback"))
    oauth.apps[crm] = _app(emulator, crm, redirect, pkce=PKCE[crm])
    async with aiohttp.ClientSession() as session:
        try:
            yield World(crm, emulator, client, oauth, store, session)
        finally:
            await client.close()
            await emulator.stop()


async def test_an_agent_connects_and_their_activities_are_written_as_them(world: World) -> None:
    """The real flow stores the agent's tokens; the agent's activity is written with them
    (the emulator records the consenting user); another agent's uses the service's."""
    world.emulator.consent_user = "crm-user-alice"
    status, page = await world.connect(ALICE)
    assert (status, "Connected" in page) == (200, True), page
    stored = await world.store.get("acme", ALICE, world.crm)
    assert stored is not None and stored.refresh_token
    resp = await world.client.get("/v1/desktop/crm/connections", headers=world.desktop(ALICE))
    assert await resp.json() == {"connected": {world.crm: True}}
    resp = await world.client.get("/v1/desktop/crm/connections", headers=world.desktop(BOB))
    assert await resp.json() == {"connected": {world.crm: False}}
    # The panel's CRM menu carries the same map, so "Connect" shows only where missing.
    resp = await world.client.get("/v1/desktop/crms?interaction_id=i-1",
                                  headers=world.desktop(ALICE))
    assert (await resp.json())["connected"] == {world.crm: True}

    sink = world.sink()
    written = await sink.write(activity(agent_id=ALICE))
    assert written.reason == "created"
    assert written.result is not None and written.result.detail is None
    assert world.writer() == "crm-user-alice"
    await sink.write(activity(agent_id=BOB, idempotency_key="ix-2:crm:call",
                              interaction_id="ix-2"))
    assert world.writer() == SERVICE_USER


async def test_vendor_owner_fields_name_the_agent(world: World) -> None:
    """Where the emulator models the vendor's owner/creator field, it is the agent's user."""
    world.emulator.consent_user = "u-alice"
    await world.connect(ALICE)
    await world.sink().write(activity(agent_id=ALICE))
    owners = {
        "salesforce": lambda e: [t["OwnerId"] for t in e.table("Task").values()],
        "hubspot": lambda e: [r["properties"]["hs_created_by_user_id"]
                              for r in e.table("calls").values()],
        "zendesk": lambda e: [t["submitter_id"] for t in e.table("tickets").values()],
        "zoho": lambda e: [r["Owner"]["id"] for r in e.table("Calls").values()],
        "dynamics365": lambda e: [r["_ownerid_value"] for r in e.table("phonecalls").values()],
    }[world.crm](world.emulator)
    assert owners == ["u-alice"]


async def test_expiry_forces_a_refresh_and_the_rotated_set_is_stored(world: World) -> None:
    """Access tokens die (401): the write refreshes with the agent's refresh token, writes
    as the agent, and the store holds the new set (a new refresh token where rotated)."""
    world.emulator.consent_user = "u-alice"
    await world.connect(ALICE)
    before = await world.store.get("acme", ALICE, world.crm)
    world.emulator.expire_tokens()
    await world.sink().write(activity(agent_id=ALICE))
    after = await world.store.get("acme", ALICE, world.crm)
    assert world.emulator.user_refresh_count == 1
    assert world.writer() == "u-alice"
    assert before is not None and after is not None
    assert after.access_token != before.access_token
    rotated = world.emulator.rotates_user_refresh
    assert (after.refresh_token != before.refresh_token) == rotated
    assert after.refresh_token in world.emulator.user_refresh


async def test_an_expiry_time_refreshes_before_the_request(world: World) -> None:
    """A token past its expires_in is refreshed before use (no 401 round trip)."""
    await world.connect(ALICE)
    stored = await world.store.get("acme", ALICE, world.crm)
    assert stored is not None
    await world.store.put("acme", ALICE, world.crm,
                          dataclasses.replace(stored, expires_at=time.time() - 1))
    await world.sink().write(activity(agent_id=ALICE))
    assert world.emulator.user_refresh_count == 1


async def test_a_revoked_authorization_falls_back_to_the_service_credentials(
    world: World,
) -> None:
    """invalid_grant on refresh: the tokens are dropped, the write goes through as the
    service user, and the fallback is logged."""
    world.emulator.consent_user = "u-alice"
    await world.connect(ALICE)
    world.emulator.revoke_user("u-alice")
    with capture_logs() as logs:
        written = await world.sink().write(activity(agent_id=ALICE))
    assert written.reason == "created"
    assert written.result is not None and written.result.detail == FELL_BACK
    assert world.writer() == SERVICE_USER
    assert await world.store.get("acme", ALICE, world.crm) is None
    events = [e["event"] for e in logs]
    assert "agent_crm_authorization_dropped" in events
    assert "agent_crm_fallback_to_service" in events


async def test_no_token_code_or_agent_id_is_ever_logged(world: World) -> None:
    """Connect, write, refresh, revoke: no log event carries a token, a code, the state or
    the agent's id."""
    with capture_logs() as logs:
        callback = await world.callback_url(ALICE)
        status, _ = await world.get(callback)
        assert status == 200
        world.emulator.expire_tokens()
        await world.sink().write(activity(agent_id=ALICE))
        stored = await world.store.get("acme", ALICE, world.crm)
        world.emulator.revoke_user(world.emulator.consent_user)
        world.emulator.expire_tokens()
        await world.sink().write(activity(agent_id=ALICE, revision=2))
    assert stored is not None
    secrets = [stored.access_token, stored.refresh_token or "", ALICE,
               callback.split("code=")[1].split("&")[0], "state="]
    secrets += list(world.emulator.user_refresh) + list(world.emulator.token_owner)
    text = repr(logs)
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("crm", ["salesforce"])
async def test_callback_refusals_are_400_pages(crm: str) -> None:
    """Replayed, forged, denied, unknown CRM, missing state, bad code, token endpoint down:
    each a 400 HTML page saying why; nothing stored."""
    emulator = salesforce.SalesforceEmulator()
    await emulator.start()
    store = InMemoryAgentTokens(FernetSealer([new_key()]), b"id-key")
    oauth = AgentOAuth({}, store, b"state-secret")
    deps = dataclasses.replace(twin_deps(), crm_identity=CrmIdentity(oauth))
    client = TestClient(TestServer(create_app(StreamSettings.from_env({"C360_ENV": "dev"}),
                                              deps)))
    await client.start_server()
    redirect = str(client.make_url(f"/v1/desktop/crm/{crm}/callback"))
    oauth.apps[crm] = _app(emulator, crm, redirect, pkce=True)
    try:
        async with aiohttp.ClientSession() as session:
            w = World(crm, emulator, client, oauth, store, session)
            callback = await w.callback_url()
            assert (await w.get(callback))[0] == 200
            await store.delete("acme", ALICE, crm)
            status, page = await w.get(callback)  # the same state again
            assert status == 400 and "already used" in page

            good = await w.callback_url()
            state = good.split("state=")[1]
            forged = good.replace(state, state[:-3] + ("AAA" if state[-3:] != "AAA" else "BBB"))
            assert (await w.get(forged))[0] == 400
            other_crm = good.replace(f"/crm/{crm}/", "/crm/hubspot/")
            status, page = await w.get(other_crm)
            assert status == 400 and "not configured" in page
            assert (await w.get(redirect + "?code=x"))[0] == 400

            emulator.deny_consent = True
            status, page = await w.get(await w.callback_url())
            assert status == 400 and "not granted" in page
            emulator.deny_consent = False

            bad_code = (await w.callback_url()).replace("code=", "code=x")
            status, page = await w.get(bad_code)
            assert status == 400 and "refused the authorization code" in page

            oauth.apps[crm] = dataclasses.replace(
                oauth.apps[crm], token_url=f"http://127.0.0.1:{closed_port()}/token")
            status, page = await w.get(await w.callback_url())
            assert status == 400 and "did not answer" in page
            assert await store.connected("acme", ALICE) == frozenset()
    finally:
        await oauth.close()
        await client.close()
        await emulator.stop()


async def test_expired_state_is_refused() -> None:
    """A callback after C360_CRM_OAUTH_STATE_TTL_SECONDS: 400, start again."""
    now = [1_000.0]
    store = InMemoryAgentTokens(FernetSealer([new_key()]), b"k", lambda: now[0])
    oauth = AgentOAuth({"hubspot": OAuthApp("hubspot", "id", "s", "https://a/authorize",
                                            "https://a/token", "", "https://c/cb", False)},
                       store, b"state-secret", state_ttl_seconds=60, clock=lambda: now[0])
    url = await oauth.begin("acme", ALICE, "hubspot")
    state = url.split("state=")[1].split("&")[0]
    now[0] += 61
    with pytest.raises(ConnectFailed, match="expired"):
        await oauth.complete("hubspot", "code", unquote(state))


async def test_routes_need_a_desktop_token_and_know_unconfigured_crms() -> None:
    """connect/disconnect/connections are desktop routes (401 without a token); a CRM
    without an OAuth app is a 404; the callback is public (a 400 page without state)."""
    store = InMemoryAgentTokens(FernetSealer([new_key()]), b"k")
    oauth = AgentOAuth({"hubspot": OAuthApp("hubspot", "id", "s", "https://a/authorize",
                                            "https://a/token", "", "https://c/cb", False)},
                       store, b"state-secret")
    deps = dataclasses.replace(twin_deps(), crm_identity=CrmIdentity(oauth))
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), deps)
    async with TestClient(TestServer(app)) as client:
        headers = {"Authorization": "Bearer " + auth.issue(SECRET, "acme", "agent-1",
                                                           time.time(), 600)}
        assert (await client.get("/v1/desktop/crm/hubspot/connect")).status == 401
        assert (await client.get("/v1/desktop/crm/connections")).status == 401
        assert (await client.delete("/v1/desktop/crm/hubspot/connection")).status == 401
        resp = await client.get("/v1/desktop/crm/zoho/connect", headers=headers)
        assert resp.status == 404
        resp = await client.get("/v1/desktop/crm/hubspot/connect", headers=headers)
        url = (await resp.json())["authorize_url"]
        assert url.startswith("https://a/authorize?response_type=code&client_id=id")
        assert "code_challenge" not in url
        resp = await client.get("/v1/desktop/crm/hubspot/callback")
        assert resp.status == 400 and resp.content_type == "text/html"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        await store.put("acme", "agent-1", "hubspot",
                        AgentTokens("a"))
        resp = await client.delete("/v1/desktop/crm/hubspot/connection", headers=headers)
        assert await resp.json() == {"crm": "hubspot", "removed": True}
        resp = await client.get("/v1/desktop/crm/connections", headers=headers)
        assert await resp.json() == {"connected": {"hubspot": False}}


async def test_identity_off_routes_still_answer() -> None:
    """Without any OAuth app: connect is 404, connections is empty, callback a 400 page."""
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), twin_deps())
    async with TestClient(TestServer(app)) as client:
        headers = {"Authorization": "Bearer " + auth.issue(SECRET, "acme", "agent-1",
                                                           time.time(), 600)}
        assert (await client.get("/v1/desktop/crm/hubspot/connect", headers=headers)).status \
            == 404
        resp = await client.get("/v1/desktop/crm/connections", headers=headers)
        assert await resp.json() == {"connected": {}}
        assert (await client.get("/v1/desktop/crm/hubspot/callback?code=x&state=y")).status \
            == 400


async def test_a_manual_note_by_the_agent_is_written_as_them(world: World) -> None:
    """Manual activities (a note from the panel) follow the same rule as automatic ones."""
    world.emulator.consent_user = "u-alice"
    await world.connect(ALICE)
    note = activity(agent_id=ALICE, kind="note", idempotency_key="ix-1:note:1",
                    subject="Note", body="Customer prefers email.", duration_seconds=None)
    written = await world.sink().write(note)
    assert written.reason == "created"
    assert world.writer() == "u-alice"
