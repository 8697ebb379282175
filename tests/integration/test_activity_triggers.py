"""Triggers beyond wrap-up on the real broker and Redis: the Faust worker, the CRM sink
worker and the HubSpot emulator write a missed call and a voicemail with default subjects."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from schemas.records import (
    InteractionEnded,
    InteractionOffered,
    RecordingAvailable,
)
from schemas.topics import INTERACTIONS
from tests.factories import CALLER, CENTRE
from tests.integration.stack import running_stack
from tests.integration.test_activities_flow import _publish, _until
from tests.integration.test_crm_worker import (
    EmulatorThread,
    start_worker,
    stop_worker,
    worker_env,
)

pytestmark = pytest.mark.integration


def _unanswered(tenant: str, iid: str, start: datetime, *, rang: bool) -> list:
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    events = [InteractionOffered(str(uuid.uuid4()), tenant, at(0), iid, "voice", "inbound",
                                 CALLER, CENTRE, stage="queued", queue="Support")]
    if rang:
        events.append(InteractionOffered(str(uuid.uuid4()), tenant, at(5), iid, "voice",
                                         "inbound", CALLER, CENTRE, stage="offered",
                                         agent_id="agent-1", queue="Support", leg_id=f"{iid}-l1"))
    events.append(InteractionEnded(str(uuid.uuid4()), tenant, at(42), iid, "voice", "inbound",
                                   CALLER, CENTRE, 42, started_at=at(0),
                                   end_reason="CUSTOMER_DISCONNECT"))
    return events


def test_a_missed_call_and_a_voicemail_become_activities_with_default_subjects(
    kafka_bootstrap, redis_url, tmp_path
):
    """A call that rang an agent and ended unanswered -> "Missed call (Support)"; a queued
    call that ended -> "Abandoned call ...", then its late recording makes the same HubSpot
    call a "Voicemail (Support)" with the recording (an update, not a second call)."""
    tenant = f"t{uuid.uuid4().hex[:6]}"
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"tenants": {tenant: [{
        "id": "unanswered", "on": ["missed", "abandoned", "voicemail"],
        "create": [{"kind": "call"}],
    }]}}))
    start = datetime.now(tz=UTC) - timedelta(minutes=30)
    with EmulatorThread() as crm, running_stack(
        kafka_bootstrap, redis_url, tmp_path, C360_RULES_FILE=str(rules)
    ) as stack:
        crm.seed("contacts", {"phone": CALLER})
        worker = start_worker(
            worker_env(kafka_bootstrap, stack["prefix"], crm, tmp_path,
                       f"crm-{uuid.uuid4().hex[:8]}"),
            tmp_path / "crm-worker.log")
        topic = stack["prefix"] + INTERACTIONS

        def titles():
            calls = crm.table("calls").values()
            return sorted(c["properties"]["hs_call_title"] for c in calls)

        try:
            _publish(kafka_bootstrap, topic, [
                *_unanswered(tenant, "ix-missed", start, rang=True),
                *_unanswered(tenant, "ix-vm", start, rang=False),
            ])
            _until("a missed and an abandoned call in HubSpot", lambda: titles() == [
                "Abandoned call after 42s in queue (Support)", "Missed call (Support)"])
            recording = RecordingAvailable(str(uuid.uuid4()), tenant,
                                           start + timedelta(minutes=2), "ix-vm", "voice",
                                           "https://rec.test/vm.wav", 30)
            _publish(kafka_bootstrap, topic, [recording])
            _until("the abandoned call updated into a voicemail", lambda: titles() == [
                "Missed call (Support)", "Voicemail (Support)"])
            (voicemail,) = [c for c in crm.table("calls").values()
                            if c["properties"]["hs_call_title"] == "Voicemail (Support)"]
            assert voicemail["properties"]["hs_call_recording_url"] == "https://rec.test/vm.wav"
        finally:
            assert stop_worker(worker) == 0, (tmp_path / "crm-worker.log").read_text()
