"""Issue flow end to end on the real broker and Redis: a tenant rules file, the Faust worker,
the CRM sink worker and the HubSpot emulator; wrap-up, manual note, late recording, unlink."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.related import closed_ms_of, describe, fold
from core.timeline import fold as fold_entries
from infra.kafka_producer import make_producer, produce_all
from projections.keys import Keys
from projections.redis_client import redis_client
from projections.redis_related import RedisRelatedRecords
from schemas import codec
from schemas.records import DesktopActionTaken, RecordingAvailable
from schemas.topics import DESKTOP, INTERACTIONS
from tests.factories import CALLER, voice_call
from tests.integration.stack import running_stack
from tests.integration.test_crm_worker import (
    EmulatorThread,
    start_worker,
    stop_worker,
    worker_env,
)

pytestmark = pytest.mark.integration
DEADLINE = 120.0


def _until(what: str, check, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


def _publish(bootstrap: str, topic: str, records) -> None:
    produce_all(make_producer(bootstrap), topic,
                [(r.interaction_id.encode(), codec.encode(r)) for r in records])


def test_rules_manual_activity_late_recording_and_related_records(
    kafka_bootstrap, redis_url, tmp_path
):
    """A Sales call wrapped up creates the tenant's call + task in HubSpot (one each), the
    agent's note becomes a note, a late recording patches the call, and the records show
    as related (the task unlinked by the agent)."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"tenants": {tenant: [{
        "id": "sales-calls",
        "when": {"channel": "voice", "queue": "Sales", "min_duration_seconds": 10},
        "create": [{"kind": "call", "subject": "{direction} call: {disposition}"},
                   {"kind": "task", "subject": "Follow up: {disposition}"}],
    }]}}))
    start = datetime.now(tz=UTC) - timedelta(minutes=30)
    call = voice_call("ix-1", tenant=tenant, start=start)
    with EmulatorThread() as crm, running_stack(
        kafka_bootstrap, redis_url, tmp_path, C360_RULES_FILE=str(rules)
    ) as stack:
        contact = crm.seed("contacts", {"phone": CALLER})
        worker = start_worker(
            worker_env(kafka_bootstrap, stack["prefix"], crm, tmp_path,
                       f"crm-{uuid.uuid4().hex[:8]}"),
            tmp_path / "crm-worker.log")
        try:
            _publish(kafka_bootstrap, stack["prefix"] + INTERACTIONS, call)
            note = DesktopActionTaken(str(uuid.uuid4()), tenant, start + timedelta(seconds=60),
                                      "agent-1", "ix-1", "add_note", text="Asked for a quote")
            _publish(kafka_bootstrap, stack["prefix"] + DESKTOP, [note])
            _until("call, task and note in HubSpot", lambda: all(
                crm.table(kind) for kind in ("calls", "tasks", "notes")))
            (call_id, record), = crm.table("calls").items()
            assert record["properties"]["hs_call_title"] == "inbound call: SALE"
            assert record["associations"][0]["to"]["id"] == contact
            (task_id,) = crm.table("tasks")
            (note_id, note_record), = crm.table("notes").items()
            assert note_record["properties"]["hs_note_body"].startswith("Asked for a quote")

            late = RecordingAvailable(str(uuid.uuid4()), tenant, start + timedelta(hours=0.25),
                                      "ix-1", "voice", "https://rec.test/ix-1.wav")
            _publish(kafka_bootstrap, stack["prefix"] + INTERACTIONS, [late])
            _until("the recording patched onto the call", lambda: crm.table("calls")[call_id][
                "properties"].get("hs_call_recording_url") == "https://rec.test/ix-1.wav")
            assert len(crm.table("calls")) == 1
            assert len(crm.table("tasks")) == 1

            unlink = DesktopActionTaken(str(uuid.uuid4()), tenant, start + timedelta(hours=1),
                                        "agent-1", "ix-1", "unlink_record",
                                        record_id=f"hubspot:task:{task_id}")
            _publish(kafka_bootstrap, stack["prefix"] + DESKTOP, [unlink])
            keys = Keys(f"c360t{stack['prefix'][:-1]}")
            closed = closed_ms_of(fold_entries([*call, late])["ix-1"])

            async def read_facts():
                client = redis_client(redis_url)
                try:
                    return await RedisRelatedRecords(client, keys).facts(tenant, "ix-1")
                finally:
                    await client.aclose()

            def related():
                facts = asyncio.run(read_facts())
                shown = {r["record"]: r["status"] for r in describe(fold(facts), closed)}
                return shown if shown.get(f"hubspot:task:{task_id}") == "unlinked" and len(
                    shown) == 4 else None

            shown = _until("related records", related)
        finally:
            assert stop_worker(worker) == 0, (tmp_path / "crm-worker.log").read_text()
    assert shown == {
        f"hubspot:call:{call_id}": "new",
        f"hubspot:contact:{contact}": "new",
        f"hubspot:note:{note_id}": "new",
        f"hubspot:task:{task_id}": "unlinked",
    }
