"""`python -m web.service` in C360_ENV=prod on a TLS + ACL Redis: its whole log, after
requests with valid and invalid credentials, contains none of the secrets it was given."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.procs import free_port
from connectors.gateway import auth
from infra.token_crypto import new_key
from tests.credentials import redis_key
from tests.factories import CALLER
from tests.integration.stack import ROOT, wait_http
from tests.redis_tls import PASSWORD, SecureRedis, start_secure_redis

pytestmark = pytest.mark.integration


@pytest.fixture
def secure_redis(tmp_path: Path) -> Iterator[SecureRedis]:
    folder = tmp_path / "redis"
    folder.mkdir()
    try:
        server = start_secure_redis(folder)
    except RuntimeError as exc:  # no redis-server with TLS on this machine
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(10)


def _status(url: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_no_secret_reaches_the_log(
    secure_redis: SecureRedis, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Pepper, gateway secret, Redis password, API keys (valid, forged, their secrets) and
    desktop tokens (valid, foreign) never appear in the service's output."""
    namespace = f"c360s{uuid.uuid4().hex[:8]}"
    pepper = f"pepper-{uuid.uuid4().hex}"
    gateway_secret = f"gateway-secret-{uuid.uuid4().hex}"
    redis_url = secure_redis.url()
    key = asyncio.run(redis_key(redis_url, namespace, "acme", ["timeline:read", "desktop"]))
    forged = key[:-6] + "ZZZZZZ"
    token = auth.issue(gateway_secret.encode(), "acme", "agent-1", time.time(), 600)
    foreign = auth.issue(b"not-the-gateway-secret-000", "acme", "agent-1", time.time(), 600)
    port = free_port()
    # Per-agent CRM identity on (HubSpot): its keys and client secret must not leak either.
    token_key, id_key = new_key(), f"id-key-{uuid.uuid4().hex}"
    crm_secret, crm_token = f"hs-secret-{uuid.uuid4().hex}", f"hs-token-{uuid.uuid4().hex}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("C360_")},
        "PYTHONPATH": str(ROOT),
        "C360_ENV": "prod",
        "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": namespace,
        "C360_PII_PEPPER": pepper,
        "C360_GATEWAY_SECRET": gateway_secret,
        "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "C360_TOPIC_PREFIX": f"{namespace}.",
        "C360_HTTP_PORT": str(port),
        "C360_DEFAULT_REGION": "GB",
        "C360_LOG_FORMAT": "json",
        "C360_LOG_LEVEL": "debug",
        "C360_CRM_HUBSPOT_BASE_URL": "https://api.hubapi.com",
        "C360_CRM_HUBSPOT_TOKEN": crm_token,
        "C360_CRM_HUBSPOT_OAUTH_CLIENT_ID": "hs-client",
        "C360_CRM_HUBSPOT_OAUTH_CLIENT_SECRET": crm_secret,
        "C360_CRM_OAUTH_REDIRECT_BASE": f"http://127.0.0.1:{port}",
        "C360_CRM_TOKEN_KEY": token_key,
        "C360_CRM_TOKEN_ID_KEY": id_key,
    }
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "web.service"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/health", time.monotonic() + 60)
        read = f"{base}/v1/timeline?" + urllib.parse.urlencode({"identifier": CALLER})
        assert _status(read, {"Authorization": f"Bearer {key}"}) == 200
        for bad in (forged, foreign, "garbage", key + "x"):
            assert _status(read, {"Authorization": f"Bearer {bad}"}) == 401
        assert _status(f"{read}&tenant=other", {"Authorization": f"Bearer {key}"}) == 403
        me = f"{base}/v1/desktop/me"
        assert _status(me, {"Authorization": f"Bearer {token}"}) == 200
        assert _status(f"{me}?token={urllib.parse.quote(foreign)}", {}) == 401
        assert _status(f"{base}/v1/desktop/dev/login", {}) in (404, 405)  # not in prod
        connect = f"{base}/v1/desktop/crm/hubspot/connect"
        with urllib.request.urlopen(urllib.request.Request(
                connect, headers={"Authorization": f"Bearer {token}"}), timeout=10) as r:
            authorize = json.loads(r.read())["authorize_url"]
        state = urllib.parse.parse_qs(urllib.parse.urlparse(authorize).query)["state"][0]
        forged_state = state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")
        callback = f"{base}/v1/desktop/crm/hubspot/callback?" + urllib.parse.urlencode(
            {"code": "auth-code-secret", "state": forged_state})
        assert _status(callback, {}) == 400
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    log = log_path.read_text(errors="replace")
    assert "access_denied" in log  # the refusals were logged (with reasons, not credentials)
    # At DEBUG the access log is on, and it names the path, never the query (?token=).
    assert "GET /v1/desktop/me 401" in log
    secrets = {
        "pepper": pepper,
        "gateway secret": gateway_secret,
        "redis password": PASSWORD,
        "API key": key,
        "API key secret": key.split("_", 2)[2],
        "forged key secret": forged.split("_", 2)[2],
        "desktop token": token,
        "desktop token signature": token.rsplit(".", 1)[1],
        "foreign token": foreign,
        "CRM token key": token_key,
        "CRM token id key": id_key,
        "CRM client secret": crm_secret,
        "CRM service token": crm_token,
        "OAuth state": state,
        "OAuth code": "auth-code-secret",
    }
    leaked = [name for name, value in secrets.items() if value in log]
    assert leaked == [], leaked
