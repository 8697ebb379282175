"""The live profile path: import -> contacts agent -> pop with the profile -> relink.

The directory, links and pop-cache contracts (twin and Redis alike) are in tests/contract/.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from c360 import contacts_import
from core.timeline import Retention
from infra.kafka_producer import make_producer, produce_all
from projections.keys import Keys
from projections.profile_timeline import profile_timeline
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_timeline import RedisTimelineStore
from schemas.records import DesktopActionTaken, ScreenPopRequested
from schemas.topics import DESKTOP, INTERACTIONS, SCREENPOPS
from tests.factories import eid, voice_call
from tests.integration.stack import running_stack

# --- The live path: import -> contacts agent -> pop with the profile -> relink -------------

STACK_SCHEMA = {"tenants": {}, "default": {"uniqueness": "unique_phone", "attributes": [
    {"name": "tier", "type": "text"}]}}
STACK_LAYOUT = {"default": {"fields": ["display_name", "tier", "phones"], "timeline_limit": 5}}


@pytest.fixture(scope="module")
def identity_stack(kafka_bootstrap, redis_url, tmp_path_factory):
    """The streams worker with a profile schema and layout, on a private prefix/namespace."""
    base = tmp_path_factory.mktemp("identity")
    (base / "schema.json").write_text(json.dumps(STACK_SCHEMA))
    (base / "layout.json").write_text(json.dumps(STACK_LAYOUT))
    with running_stack(kafka_bootstrap, redis_url, base,
                       C360_PROFILE_SCHEMA_FILE=str(base / "schema.json"),
                       C360_LAYOUT_FILE=str(base / "layout.json")) as stack:
        stack["namespace"] = f"c360t{stack['prefix'][:-1]}"
        stack["redis_url"] = redis_url
        stack["schema"] = str(base / "schema.json")
        yield stack


def _pops(consume_until, stack, tenant, predicate):
    """The tenant's screen pops, read from the start until `predicate(pops)` holds."""
    from schemas import codec  # noqa: PLC0415 - the Avro codec module may land later

    def mine(received):
        pops = (codec.decode(r.value) for r in received)
        return [p for p in pops if isinstance(p, ScreenPopRequested) and p.tenant_id == tenant]

    received = consume_until(stack["prefix"] + SCREENPOPS, lambda rs: predicate(mine(rs)), 90)
    return mine(received)


@pytest.mark.integration
def test_imported_profiles_pop_and_relinks_move_the_interaction(
    identity_stack, tmp_path, monkeypatch, consume_until
):
    """CSV import -> worker applies it -> a call pops the profile by layout -> the agent
    relinks -> the next pop and both profile timelines follow."""
    from schemas import codec  # noqa: PLC0415 - the Avro codec module may land later

    stack = identity_stack
    tenant = f"t{uuid.uuid4().hex[:6]}"
    for name, value in {"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB",
                        "C360_KAFKA_BOOTSTRAP_SERVERS": stack["bootstrap"],
                        "C360_TOPIC_PREFIX": stack["prefix"], "C360_REDIS_URL": stack["redis_url"],
                        "C360_KEY_NAMESPACE": stack["namespace"]}.items():
        monkeypatch.setenv(name, value)
    csv_path = tmp_path / "people.csv"
    csv_path.write_text("profile_id,name,phone,tier\n"
                        "p-alice,Alice,020 7946 0123,gold\n"
                        "p-bob,Bob,020 7946 0456,silver\n")
    report = tmp_path / "report.json"
    assert contacts_import.main([str(csv_path), "--tenant", tenant, "--schema", stack["schema"],
                                 "--report", str(report), "--wait", "60"]) == 0
    assert json.loads(report.read_text())["applied"] == 2

    start = datetime.now(tz=UTC) - timedelta(minutes=10)
    call = voice_call("ix-1", tenant=tenant, start=start, agent="agent-9", caller="+442079460123")
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + INTERACTIONS,
                [(b"ix-1", codec.encode(e)) for e in call[:3]])
    pops = _pops(consume_until, stack, tenant, lambda ps: len(ps) >= 2)
    ringing = pops[0]
    assert (ringing.match_status, ringing.profile_id, ringing.agent_id) == (
        "one", "p-alice", "agent-9")
    view = json.loads(ringing.view_json)
    assert [(f["name"], f["value"]) for f in view["profile"]["fields"]] == [
        ("display_name", "Alice"), ("tier", "gold"), ("phones", ["+442079460123"])]
    assert view["prewarmed"] is True
    assert view["timeline"][0]["interaction_id"] == "ix-1"

    relink = DesktopActionTaken(eid(), tenant, start + timedelta(seconds=30), "agent-9", "ix-1",
                                "relink", profile_id="p-bob")
    produce_all(make_producer(stack["bootstrap"]), stack["prefix"] + DESKTOP,
                [(b"ix-1", codec.encode(relink))])
    pops = _pops(consume_until, stack, tenant, lambda ps: any(p.trigger_event_id == relink.event_id
                                               for p in ps))
    moved = next(p for p in pops if p.trigger_event_id == relink.event_id)
    assert (moved.match_status, moved.profile_id) == ("one", "p-bob")

    async def timelines():
        client = redis_client(stack["redis_url"])
        keys = Keys(stack["namespace"])
        store = RedisTimelineStore(client, keys, Retention())
        directory = RedisProfileDirectory(client, keys)
        links = RedisInteractionLinks(client, keys)
        now = int(datetime.now(tz=UTC).timestamp() * 1000)
        out = {}
        for pid in ("p-alice", "p-bob"):
            entries = await profile_timeline(directory, links, store, tenant, pid, ["voice"],
                                             now, 10)
            out[pid] = [e.interaction_id for e in entries]
        await client.aclose()
        return out

    assert asyncio.run(timelines()) == {"p-alice": [], "p-bob": ["ix-1"]}
