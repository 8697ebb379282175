"""Per-agent CRM identity end to end: the connect flow through the web routes on real Redis
(redirects followed against the Zendesk emulator), then the CRM sink worker process on the
real Tansu broker writes an agent's activities with that agent's token, another agent's
with the service credentials, refreshes an expired token (the rotated refresh token lands
in Redis), and falls back to the service credentials once the agent's grant is revoked."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestClient, TestServer

from connectors.gateway import auth
from infra.token_crypto import FernetSealer, new_key
from projections.keys import Keys
from schemas.records import ActivityResult
from schemas.topics import ACTIVITIES_REQUESTED, ACTIVITIES_RESULTS
from streams.settings import StreamSettings
from tests.contract.net import closed_port
from tests.emulators.base import SERVICE_USER
from tests.emulators.zendesk import ZendeskEmulator
from tests.integration.test_crm_worker import (
    EmulatorThread,
    activity,
    publish,
    read_all,
    start_worker,
    stop_worker,
    worker_env,
)
from tests.web_twins import SECRET, twin_deps
from web.app import create_app
from web.bootstrap import build_crm_identity

pytestmark = pytest.mark.integration
ALICE, BOB = "alice@example.com", "bob@example.com"


def identity_env(crm: ZendeskEmulator, redis_url: str, namespace: str, base: str,
                 token_key: str) -> dict[str, str]:
    """What the web process and the worker share: the CRM, its OAuth app, the store."""
    return {
        **crm.env(),
        "C360_CRM_ZENDESK_OAUTH_CLIENT_ID": crm.oauth_client_id,
        "C360_CRM_ZENDESK_OAUTH_CLIENT_SECRET": crm.oauth_client_secret,
        "C360_CRM_OAUTH_REDIRECT_BASE": base,
        "C360_CRM_TOKEN_KEY": token_key,
        "C360_CRM_TOKEN_ID_KEY": "integration-id-key",
        "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": namespace,
    }


async def connect(env: dict[str, str], tenant: str, agent: str, base: str,
                  client: TestClient) -> str:  # type: ignore[type-arg]
    """The agent's browser trip: connect -> authorize (emulator) -> callback (web)."""
    token = auth.issue(SECRET, tenant, agent, time.time(), 600)
    resp = await client.get("/v1/desktop/crm/zendesk/connect",
                            headers={"Authorization": f"Bearer {token}"})
    url = (await resp.json())["authorize_url"]
    assert url.startswith(env["C360_CRM_ZENDESK_BASE_URL"] + "/oauth/authorizations/new?")
    assert "code_challenge=" in url
    async with aiohttp.ClientSession() as browser, browser.get(url) as page:
        assert str(page.url).startswith(base)
        return f"{page.status} {await page.text()}"


def stored_refresh(redis_url: str, namespace: str, tenant: str, agent: str,
                   token_key: str) -> str | None:
    """The refresh token in Redis for (tenant, agent, zendesk), unsealed."""
    from core.crm.agent_auth import agent_token  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url)
    key = Keys(namespace).agent_crm_tokens(
        tenant, agent_token(b"integration-id-key", tenant, agent))
    raw = client.hget(key, "zendesk")
    client.close()
    if raw is None:
        return None
    return json.loads(FernetSealer([token_key]).open(raw))["refresh_token"]


def ticket_submitters(crm: ZendeskEmulator) -> dict[str, str]:
    return {t["external_id"]: t["submitter_id"] for t in crm.table("tickets").values()}


def test_agent_identity_through_the_worker(
    kafka_bootstrap, topic_prefix, redis_url, redis_namespace, tmp_path: Path
):
    """Connect, write as the agent, service for another, refresh+rotate, revoke->fallback."""
    tenant, group = f"t{uuid.uuid4().hex[:6]}", f"crm-{uuid.uuid4().hex[:8]}"
    token_key = new_key()
    thread = EmulatorThread()
    thread.crm = ZendeskEmulator()
    with thread as crm:
        crm.consent_user = "zd-user-alice"
        loop = asyncio.new_event_loop()
        settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_REDIS_URL": redis_url,
                                            "C360_KEY_NAMESPACE": redis_namespace})

        port = closed_port()
        base = f"http://127.0.0.1:{port}"
        env = identity_env(crm, redis_url, redis_namespace, base, token_key)

        async def web_connect() -> str:
            identity, close = build_crm_identity(settings, env)
            assert identity.oauth is not None
            app = create_app(settings, dataclasses.replace(twin_deps(), crm_identity=identity))
            client = TestClient(TestServer(app, host="127.0.0.1", port=port))
            await client.start_server()
            try:
                return await connect(env, tenant, ALICE, base, client)
            finally:
                await client.close()
                if close is not None:
                    await close()

        page = loop.run_until_complete(web_connect())
        loop.close()
        assert page.startswith("200 ") and "Connected" in page
        first_refresh = stored_refresh(redis_url, redis_namespace, tenant, ALICE, token_key)
        assert first_refresh is not None

        requested = topic_prefix + ACTIVITIES_REQUESTED
        phone = {"customer_phone": "+14155550100"}
        publish(kafka_bootstrap, requested, [activity(1, tenant, agent_id=ALICE, **phone),
                                             activity(2, tenant, agent_id=BOB, **phone)])
        wenv = {**worker_env(kafka_bootstrap, topic_prefix, crm, tmp_path, group), **env,
                "C360_CRM_DEFAULT": "zendesk", "C360_CRM_CREATE_CONTACTS": "1"}
        wenv.pop("C360_CRM_HUBSPOT_BASE_URL")
        wenv.pop("C360_CRM_HUBSPOT_TOKEN")
        wenv.pop("C360_CRM_OAUTH_REDIRECT_BASE")  # the worker never serves a callback
        log = tmp_path / "worker.log"
        proc = start_worker(wenv, log)
        results = topic_prefix + ACTIVITIES_RESULTS

        def done(n: int) -> list[ActivityResult]:
            return read_all(kafka_bootstrap, results, lambda rs: len(
                [r for r in rs if isinstance(r, ActivityResult) and r.tenant_id == tenant])
                >= n)

        try:
            done(2)
            submitters = ticket_submitters(crm)
            assert submitters[f"{tenant}:ix-1:default:call"] == "zd-user-alice"
            assert submitters[f"{tenant}:ix-2:default:call"] == SERVICE_USER

            crm.expire_tokens()  # every access token dies: the agent's is refreshed
            publish(kafka_bootstrap, requested, [activity(3, tenant, agent_id=ALICE, **phone)])
            done(3)
            assert ticket_submitters(crm)[f"{tenant}:ix-3:default:call"] == "zd-user-alice"
            assert crm.user_refresh_count == 1
            rotated = stored_refresh(redis_url, redis_namespace, tenant, ALICE, token_key)
            assert rotated not in (None, first_refresh)
            assert rotated in crm.user_refresh

            crm.revoke_user("zd-user-alice")  # the agent (or an admin) revoked the app
            publish(kafka_bootstrap, requested, [activity(4, tenant, agent_id=ALICE, **phone)])
            got = done(4)
            assert ticket_submitters(crm)[f"{tenant}:ix-4:default:call"] == SERVICE_USER
            assert stored_refresh(redis_url, redis_namespace, tenant, ALICE, token_key) is None
        finally:
            assert stop_worker(proc) == 0, log.read_text()
    mine = {r.interaction_id: r for r in got if r.tenant_id == tenant}
    assert {r.status for r in mine.values()} == {"created"}
    assert [i for i, r in sorted(mine.items()) if r.detail] == ["ix-4"]  # the fallback
    text = log.read_text()
    assert "agent_crm_fallback_to_service" in text
    assert "agent_crm_token_refreshed" in text
    for secret in (ALICE, first_refresh, rotated, *crm.token_owner):
        assert str(secret) not in text
