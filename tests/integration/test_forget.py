"""`c360 forget` on real Redis and Tansu: the party's keys go, the erasure request is published."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions

from c360 import forget
from connectors.sources.signatures import twilio_signature
from core.links import LinkAction
from core.profiles import Profile, ProfileIdentifier
from core.timeline import Retention
from infra.audit_kafka import InMemoryAuditTrail
from infra.kafka_producer import PublishFailed
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks, RedisPopCache
from projections.redis_parties import RedisInteractionParties
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_timeline import RedisTimelineStore
from schemas import codec
from schemas.records import AuditRecorded
from schemas.topics import AUDIT, ERASURE
from streams.handlers import party_for_identifier
from streams.settings import StreamSettings
from tests.contract.net import closed_port
from tests.factories import CALLER, T0, voice_call
from tests.integration.stack import DEADLINE, running_stack, stack_bearer
from tests.unit.sources.samples import http_request

OTHER_CALLER = "+442079460777"
TWILIO_AUTH = "forget-test-twilio-auth-token"
CHANNELS = ("voice", "chat", "sms", "email", "whatsapp")
NOW_MS = int(T0.timestamp() * 1000) + 3_600_000


@pytest.fixture
def env(redis_url: str, redis_namespace: str, kafka_bootstrap: str,
        topic_prefix: str) -> dict[str, str]:
    """The environment `c360 forget` reads, pointed at the test's Redis namespace and topics."""
    return {
        "C360_ENV": "dev",
        "C360_PII_PEPPER": "forget-test-pepper",
        "C360_REDIS_URL": redis_url,
        "C360_KEY_NAMESPACE": redis_namespace,
        "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "C360_TOPIC_PREFIX": topic_prefix,
        "C360_DEFAULT_REGION": "GB",
        "C360_OPERATOR": "jane",
    }


async def project(env: dict[str, str]) -> dict[str, Any]:
    """Project two callers' calls with every kind of per-party and per-interaction key."""
    settings = StreamSettings.from_env(env)
    keys = Keys(settings.key_namespace)
    client = redis_client(settings.redis_url)
    store = RedisTimelineStore(client, keys, Retention())
    parties = RedisInteractionParties(client, keys, 3600)
    links = RedisInteractionLinks(client, keys)
    directory = RedisProfileDirectory(client, keys)
    out: dict[str, Any] = {"keys": keys}
    try:
        for caller, iids in ((CALLER, ["ix-a1", "ix-a2"]), (OTHER_CALLER, ["ix-b1"])):
            party = party_for_identifier("acme", caller, settings)
            out[caller] = party
            for iid in iids:
                for event in voice_call(iid, caller=caller):
                    await store.apply("acme", party.token, event, NOW_MS)
                await parties.remember(iid, party)
                await links.record("acme", iid, party.token,
                                   LinkAction(f"e-{iid}", NOW_MS, "p-1", agent_id="agent-1"))
                await RedisPopCache(client, keys).put("acme", iid, '{"pop": 1}', 3600)
            ident = ProfileIdentifier(party.kind, party.value or "", party.token)
            pid = "p-1" if caller == CALLER else "p-2"
            await directory.upsert(Profile("acme", pid, (NOW_MS, f"e-{pid}"), pid, (ident,)))
        await directory.upsert(
            Profile("acme", "p-3", (NOW_MS, "e-p-3"), "p-3",
                    (ProfileIdentifier("phone", CALLER, out[CALLER].token),))
        )
    finally:
        await client.aclose()
    return out


async def timeline(env: dict[str, str], token: str) -> list[Any]:
    """The party's timeline as the read API sees it."""
    settings = StreamSettings.from_env(env)
    client = redis_client(settings.redis_url)
    try:
        store = RedisTimelineStore(client, Keys(settings.key_namespace), Retention())
        return await store.read("acme", token, CHANNELS, NOW_MS, 50)
    finally:
        await client.aclose()


async def existing(env: dict[str, str], keys: list[str]) -> list[str]:
    """Which of `keys` exist."""
    client = redis_client(env["C360_REDIS_URL"])
    try:
        return [k for k in keys if await client.exists(k)]
    finally:
        await client.aclose()


def interaction_keys(keys: Keys, iid: str) -> list[str]:
    """Every per-interaction key the projection keeps."""
    return [keys.interaction_party("acme", iid), keys.interaction_link("acme", iid),
            keys.screen_pop_cache("acme", iid)]


@pytest.mark.integration
async def test_forget_erases_the_party_and_publishes_the_request(
    env: dict[str, str], topic_prefix: str, consume_until: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After forget the timeline read is empty, the claims and per-interaction keys are gone,
    the other caller is untouched, and the erasure request is on c360.erasure.v1."""
    state = await project(env)
    keys, token = state["keys"], state[CALLER].token
    assert len(await timeline(env, token)) == 2
    # Same number in another format: normalization finds the same party.
    code = await asyncio.to_thread(
        forget.main, ["--tenant", "acme", "--identifier", "020 7946 0123", "--reason", "T-1"],
        env,
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    [party] = report["parties"]
    assert party["party_token"] == token and party["kind"] == "phone"
    assert party["removed"] == {
        "identifier_claims": 1, "interaction_link": 2, "interaction_party": 2,
        "screen_pop_cache": 2, "timeline_entries": 1, "timeline_index": 1,
    }
    assert party["interactions"] == 2
    assert party["profiles_listing_identifier"] == ["p-1", "p-3"]
    assert party["remaining_after"] == 0 and report["not_erased"]
    assert CALLER not in json.dumps(report)

    assert await timeline(env, token) == []
    gone = [k for iid in ("ix-a1", "ix-a2") for k in interaction_keys(keys, iid)]
    assert await existing(env, gone) == []
    other = state[OTHER_CALLER].token
    assert len(await timeline(env, other)) == 1
    kept = [*interaction_keys(keys, "ix-b1"), keys.identifier_claims("acme", other)]
    assert await existing(env, kept) == kept

    records = await asyncio.to_thread(consume_until, topic_prefix + ERASURE)
    [record] = records
    assert record.key == f"acme:{token}".encode()
    doc = json.loads(record.value)
    assert doc["type"] == "ErasureRequested" and doc["party_token"] == token
    assert doc["event_id"] == party["erasure_event_id"] and doc["reason"] == "T-1"
    assert doc["tenant_id"] == "acme" and doc["party_kind"] == "phone"
    assert CALLER not in record.value.decode() and CALLER[1:] not in record.value.decode()


def spellings(identifier: str) -> list[bytes]:
    """Byte forms of an identifier an audit record must never hold."""
    digits = "".join(c for c in identifier if c.isdigit())
    return [identifier.encode(), digits.encode(), digits[-9:].encode()]


@pytest.mark.integration
async def test_forget_is_audited_once_without_the_identifier(
    env: dict[str, str], topic_prefix: str, consume_until: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One AuditRecorded per forgotten identifier on c360.audit.v1: the operator, the party
    token, the counts and the erasure event id; no spelling of the number in its bytes."""
    state = await project(env)
    token = state[CALLER].token
    argv = ["--tenant", "acme", "--identifier", "020 7946 0123", "--reason", "T-1"]
    assert await asyncio.to_thread(forget.main, argv, env) == 0
    [party] = json.loads(capsys.readouterr().out)["parties"]
    [received] = await asyncio.to_thread(
        consume_until, topic_prefix + AUDIT, lambda rs: len(rs) > 1, 5)
    record = codec.decode(received.value or b"")
    assert isinstance(record, AuditRecorded) and received.key == b"acme"
    assert (record.actor_kind, record.actor, record.action, record.target, record.outcome) == (
        "operator", "ops:jane", "forget", token, "ok")
    assert record.details["erasure_event_id"] == party["erasure_event_id"]
    assert record.details["keys_removed"] == str(sum(party["removed"].values())) == "9"
    assert record.details["interactions"] == "2"
    raw = (received.value or b"") + (received.key or b"")
    for form in [*spellings(CALLER), *spellings("020 7946 0123"), b"T-1"]:
        assert form not in raw


@pytest.mark.integration
async def test_a_failed_erasure_is_audited_failed_and_an_unpublished_trail_is_exit_3(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down after the request was published: the record says failed (and the error's
    type), then the error surfaces as before. The trail down: erased, exit 3, report kept."""
    await project(env)
    # Redis answers the start-up check, then goes away (a closed port stands for that).
    monkeypatch.setattr(forget.reach, "require_redis", lambda *_a: None)
    argv = ["--tenant", "acme", "--identifier", CALLER]
    trail = InMemoryAuditTrail()
    down = {**env, "C360_REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    with pytest.raises(redis.exceptions.ConnectionError):
        await asyncio.to_thread(forget.main, argv, down, trail)
    [record] = trail.records
    assert record.outcome == "failed" and record.details["error"]
    assert record.details["erasure_event_id"] != "None"

    unpublished = InMemoryAuditTrail(fail=PublishFailed("broker down"))
    assert await asyncio.to_thread(forget.main, argv, env, unpublished) == 3
    out = capsys.readouterr()
    assert "audit record was not published" in out.err
    [party] = json.loads(out.out)["parties"]
    assert party["removed"]["timeline_entries"] == 1


@pytest.mark.integration
async def test_dry_run_reports_and_touches_nothing(
    env: dict[str, str], topic_prefix: str, consume_until: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--dry-run counts what would go, leaves Redis as it was and records no audit."""
    state = await project(env)
    code = await asyncio.to_thread(
        forget.main, ["--tenant", "acme", "--identifier", CALLER, "--dry-run"], env
    )
    assert code == 0
    [party] = json.loads(capsys.readouterr().out)["parties"]
    assert party["removed"]["timeline_entries"] == 1 and party["interactions"] == 2
    assert party["erasure_event_id"] is None
    assert len(await timeline(env, state[CALLER].token)) == 2
    assert await asyncio.to_thread(consume_until, topic_prefix + AUDIT, timeout=3) == []


@pytest.mark.integration
async def test_forgetting_twice_is_harmless(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A rerun finds nothing left and still exits 0."""
    await project(env)
    argv = ["--tenant", "acme", "--identifier", CALLER]
    assert await asyncio.to_thread(forget.main, argv, env) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(forget.main, argv, env) == 0
    [party] = json.loads(capsys.readouterr().out)["parties"]
    assert party["removed"] == {}


@pytest.mark.integration
def test_unreadable_identifier_is_exit_2_without_echo(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Garbage and withheld caller ids are refused before anything happens."""
    for value in ("not a number at all", "withheld"):
        assert forget.main(["--tenant", "acme", "--identifier", value], env) == 2
        err = capsys.readouterr().err
        assert "identifier #1" in err and value not in err


def test_key_kinds_and_glob_escaping() -> None:
    """Suffixes after the party tag name their kind; glob characters in a tag are escaped."""
    assert forget.key_kind("tl:voice") == "timeline_index"
    assert forget.key_kind("tx") == "timeline_entries"
    assert forget.key_kind("tb") == "timeline_tombstones"
    assert forget.key_kind("claims") == "identifier_claims"
    assert forget.key_kind("owners") == "ownership_log"
    assert forget.key_kind("future") == "other:future"
    assert forget._glob("c360:{a*b?[c]\\:t}") == "c360:{a\\*b\\?\\[c\\]\\\\:t}"


def test_erasure_request_carries_the_token_never_the_value() -> None:
    """The canonical JSON names tenant, token, kind and who asked; no identifier value."""
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})
    party = party_for_identifier("acme", CALLER, settings)
    event_id, raw = forget.erasure_request(party, "cli:ops", None, T0)
    doc = json.loads(raw)
    assert doc["type"] == "ErasureRequested" and doc["event_id"] == event_id
    assert doc["occurred_at"].endswith(".000Z") and doc["party_token"] == party.token
    assert doc["normalizer_version"] and doc["schema_version"] == 1
    assert CALLER[1:] not in raw.decode()


def _timeline_items(stack: dict[str, Any], identifier: str) -> list[Any]:
    query = urllib.parse.urlencode({"identifier": identifier, "tenant": "acme"})
    url = f"{stack['http']}/v1/timeline?{query}"
    request = urllib.request.Request(url, headers=stack_bearer(stack, "acme"))
    with urllib.request.urlopen(request, timeout=5) as resp:
        return list(json.loads(resp.read())["items"])


@pytest.mark.integration
def test_webhook_to_timeline_then_forget_end_to_end(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Twilio's captured webhook posted to the running service reaches the timeline API;
    after `c360 forget` of the caller (another spelling) the API shows nothing."""
    _, body = http_request("twilio_voice_incoming_pstn_webhook.http")
    # Signed as Twilio signs it, with acme's auth token: the signature proves the tenant.
    with running_stack(kafka_bootstrap, redis_url, tmp_path,
                       C360_TWILIO_AUTH_TOKENS=f"acme:{TWILIO_AUTH}") as stack:
        http, prefix = str(stack["http"]), str(stack["prefix"])
        url = f"{http}/v1/ingest/twilio?tenant=acme"
        params = urllib.parse.parse_qsl(body.decode(), keep_blank_values=True)
        request = urllib.request.Request(
            url, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": twilio_signature(TWILIO_AUTH, url, params)})
        with urllib.request.urlopen(request, timeout=30) as resp:
            assert resp.status == 202
        end = time.monotonic() + DEADLINE
        while not _timeline_items(stack, "+447381234567") and time.monotonic() < end:
            time.sleep(0.3)
        assert len(_timeline_items(stack, "+447381234567")) == 1
        env = {**os.environ, "C360_ENV": "dev", "C360_REDIS_URL": redis_url,
               "C360_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "C360_TOPIC_PREFIX": prefix,
               "C360_KEY_NAMESPACE": f"c360t{prefix[:-1]}", "C360_DEFAULT_REGION": "GB"}
        assert forget.main(["--tenant", "acme", "--identifier", "07381 234567"], env) == 0
        [party] = json.loads(capsys.readouterr().out)["parties"]
        assert party["removed"]["timeline_entries"] == 1 and party["interactions"] == 1
        assert _timeline_items(stack, "+447381234567") == []
