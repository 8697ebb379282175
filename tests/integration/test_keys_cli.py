"""`c360 keys` on the real broker and Redis: a created key verifies, lists without its secret,
is audited, and stops working once revoked."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from c360 import keys as keys_cli
from core.api_keys import InvalidKey, split, verify
from projections.keys import Keys
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client
from schemas import codec
from schemas.records import AuditRecorded
from schemas.topics import AUDIT

pytestmark = pytest.mark.integration


def now_ms():
    return int(time.time() * 1000)


def record(redis_url, namespace, key_id):
    async def get():
        client = redis_client(redis_url)
        try:
            return await RedisApiKeys(client, Keys(namespace)).get(key_id)
        finally:
            await client.aclose()

    return asyncio.run(get())


def run(capsys, redis_url, namespace, bootstrap, prefix, *argv):
    code = keys_cli.main(["--redis", redis_url, "--namespace", namespace, "--bootstrap",
                          bootstrap, "--topic-prefix", prefix, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_list_revoke_round_trip_with_audit(
    capsys, redis_url, redis_namespace, kafka_bootstrap, topic_prefix, consume_until
):
    args = (capsys, redis_url, redis_namespace, kafka_bootstrap, topic_prefix)
    code, out, err = run(*args, "create", "--tenant", "acme", "--scope", "timeline:read",
                         "--scope", "ingest:twilio", "--name", "crm sync")
    assert code == 0, err
    presented = out.strip()
    key_id, secret = split(presented)
    assert "only time the key is shown" in err
    principal = verify(record(redis_url, redis_namespace, key_id), secret, now_ms())
    assert (principal.tenant, principal.scopes) == (
        "acme", frozenset({"timeline:read", "ingest:twilio"}))

    code, out, _ = run(*args, "list", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["key_id"], r["state"]) for r in rows] == [(key_id, "active")]
    assert secret not in out

    code, out, _ = run(*args, "revoke", key_id)
    assert code == 0 and "revoked" in out
    with pytest.raises(InvalidKey, match="revoked"):
        verify(record(redis_url, redis_namespace, key_id), secret, now_ms())
    code, _, err = run(*args, "revoke", "ffffffffffffffff")
    assert code == 1 and "no key" in err

    got = consume_until(topic_prefix + AUDIT, lambda msgs: len(msgs) >= 2)
    records = [codec.decode(m.value) for m in got]
    assert all(isinstance(r, AuditRecorded) for r in records)
    assert [(r.action, r.target, r.tenant_id) for r in records] == [
        ("key_created", key_id, "acme"), ("key_revoked", key_id, "acme")]
    assert all(secret not in repr(r) for r in records)


def test_bad_requests_are_refused_with_reasons(
    capsys, redis_url, redis_namespace, kafka_bootstrap, topic_prefix
):
    args = (capsys, redis_url, redis_namespace, kafka_bootstrap, topic_prefix)
    code, out, err = run(*args, "create", "--tenant", "a{b}", "--scope", "read:all",
                         "--name", "x", "--expires-days", "0")
    assert code == 2 and out == ""
    assert "unknown scope 'read:all'" in err and "tenant" in err and "--expires-days" in err
    code, out, _ = run(*args, "list")
    assert code == 0 and out.strip() == "No API keys."
