"""Privileged desktop actions go on the audit trail with the action, in one batch, without
anything that could identify a customer; notes and tasks do not."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.gateway import auth
from connectors.gateway.actions import AUDITED, ActionContext, audit_of, parse_action
from connectors.gateway.hub import Hub
from connectors.gateway.memory import InMemoryPopTopic
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import Gateway, add_routes
from infra.kafka_producer import InMemoryPublisher, PublishFailed
from schemas import codec
from schemas.records import AuditRecorded, DesktopActionTaken
from tests.web_twins import twin_desk

SECRET = b"unit-test-secret-0123456789abcdef"
CTX = ActionContext("demo", "agent-1", datetime(2025, 3, 1, tzinfo=UTC))
PHONE, EMAIL = "+44 20 7946 0123", "ann@example.com"


def action(ctx: ActionContext = CTX, **doc: str) -> DesktopActionTaken:
    return parse_action(json.dumps(doc).encode(), ctx)


@pytest.mark.parametrize(
    ("doc", "target", "details"),
    [
        (
            {"action": "open_profile", "interaction_id": "ix-1", "profile_id": "p-1"},
            "ix-1",
            {"profile_id": "p-1"},
        ),
        (
            {"action": "relink", "interaction_id": "ix-2", "profile_id": "p-2"},
            "ix-2",
            {"profile_id": "p-2"},
        ),
        (
            {"action": "link_record", "interaction_id": "ix-3", "record_id": "hubspot:deal:42"},
            "ix-3",
            {"record_id": "hubspot:deal:42"},
        ),
        (
            {"action": "unlink_record", "interaction_id": "ix-4", "record_id": "sf:Case:5003"},
            "ix-4",
            {"record_id": "sf:Case:5003"},
        ),
    ],
)
def test_privileged_actions_make_one_audit_record(
    doc: dict[str, str], target: str, details: dict[str, str]
) -> None:
    record = action(**doc)
    audit = audit_of(record)
    assert audit is not None
    assert (
        audit.tenant_id,
        audit.actor_kind,
        audit.actor,
        audit.action,
        audit.target,
        audit.outcome,
        audit.occurred_at,
    ) == ("demo", "agent", "agent-1", doc["action"], target, "ok", CTX.now)
    assert audit.details == {"action_event_id": record.event_id, **details}


@pytest.mark.parametrize("name", ["add_note", "add_task", "add_call", "add_event"])
def test_notes_and_tasks_are_not_audited(name: str) -> None:
    assert name not in AUDITED
    assert audit_of(action(action=name, interaction_id="ix-1", text="t")) is None


def test_a_retried_click_keeps_the_audit_id_and_a_new_click_gets_another() -> None:
    doc = {
        "action": "relink",
        "interaction_id": "ix-1",
        "profile_id": "p-1",
        "client_action_id": "c-1",
    }
    later = ActionContext(CTX.tenant, CTX.agent, CTX.now + timedelta(seconds=5))
    first, retried = audit_of(action(**doc)), audit_of(action(later, **doc))
    other = audit_of(action(**{**doc, "client_action_id": "c-2"}))
    assert first is not None and retried is not None and other is not None
    assert first.event_id == retried.event_id != other.event_id


def test_identifier_looking_values_are_withheld_and_an_email_agent_hashed() -> None:
    record = action(
        ActionContext("demo", "jane@contact-centre.example", CTX.now),
        action="relink",
        interaction_id=PHONE,
        profile_id=EMAIL,
    )
    audit = audit_of(record)
    assert audit is not None
    assert audit.target == "withheld" and audit.details["profile_id"] == "withheld"
    assert len(audit.actor) == 32 and audit.details["actor_hashed"] == "sha256"
    raw = codec.encode(audit)
    for value in (PHONE, "2079460123", EMAIL, "jane@", "example"):
        assert value.encode() not in raw


@pytest.fixture
async def served() -> AsyncIterator[
    tuple[TestClient[web.Request, web.Application], InMemoryPublisher]
]:
    config = GatewayConfig.from_settings(
        SimpleNamespace(
            kafka_bootstrap_servers="unused:1", topic_prefix="t.", default_tenant="demo"
        )
    )
    topic, publisher = InMemoryPopTopic(partitions=1), InMemoryPublisher()
    gateway = Gateway(
        GatewaySettings(secret=SECRET, dev=True),
        config,
        Hub(2, 60_000, lambda: int(time.time() * 1000)),
        topic,
        topic,
        publisher,
        twin_desk(),
    )
    app = web.Application()
    add_routes(app, gateway)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, publisher
    finally:
        await client.close()


async def test_the_action_and_its_audit_record_are_one_publish(
    served: tuple[TestClient[web.Request, web.Application], InMemoryPublisher],
) -> None:
    """One batch (acknowledged together before the 202); a broker that refuses it gets 503
    and neither record is written."""
    client, publisher = served
    headers = {"Authorization": "Bearer " + auth.issue(SECRET, "demo", "a", time.time(), 600)}
    body = {"action": "open_profile", "interaction_id": "ix-1", "profile_id": "p-9"}
    resp = await client.post("/v1/desktop/actions", headers=headers, json=body)
    assert resp.status == 202
    desktop, audit = publisher.messages
    assert (desktop.topic, audit.topic, audit.key) == (
        "t.c360.desktop.v1",
        "t.c360.audit.v1",
        b"demo",
    )
    record = codec.decode(audit.value)
    assert isinstance(record, AuditRecorded)
    assert (record.actor, record.action, record.target) == ("a", "open_profile", "ix-1")
    assert record.details["action_event_id"] == (await resp.json())["event_id"]

    publisher.fail = PublishFailed("down")
    down = await client.post("/v1/desktop/actions", headers=headers, json=body)
    assert down.status == 503 and len(publisher.messages) == 2
