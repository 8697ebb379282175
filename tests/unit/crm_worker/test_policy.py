"""Worker policy: CRM routing, pauses, settings (backoff: test_backoff; ledger: tests/contract)."""

from __future__ import annotations

import json

import pytest

from connectors.crm.kafka_consumer import Pauses
from connectors.crm.routing import CrmRouting, load_routing, routing_from_dict
from connectors.crm.worker_settings import WorkerConfigError, WorkerSettings

ROUTING = routing_from_dict(
    {
        "default": "webhook",
        "tenants": {
            "acme": {"crm": "salesforce", "agents": {"agent-7": "hubspot"}},
            "beta": {"agents": {"agent-1": "zoho"}},
        },
    }
)


@pytest.mark.parametrize(
    ("tenant", "agent", "requested", "crm"),
    [
        ("acme", "agent-1", None, "salesforce"),  # tenant's CRM
        ("acme", "agent-7", None, "hubspot"),  # the agent's own selection
        ("acme", "agent-7", "zendesk", "zendesk"),  # a rule naming its CRM wins
        ("acme", None, None, "salesforce"),
        ("beta", "agent-1", None, "zoho"),
        ("beta", "agent-2", None, "webhook"),  # no tenant CRM: the deployment default
        ("zeta", "agent-7", None, "webhook"),
    ],
)
def test_crm_selection_per_tenant_and_agent(tenant, agent, requested, crm):
    """Explicit > agent > tenant > deployment default."""
    assert ROUTING.crm_for(tenant, agent, requested) == crm


def test_the_worker_builds_adapters_for_every_selected_crm():
    """crms() lists every CRM a tenant or agent may be routed to."""
    assert ROUTING.crms() == {"webhook", "salesforce", "hubspot", "zoho"}
    assert CrmRouting(None).crms() == set()
    assert CrmRouting(None).crm_for("acme", None, None) is None


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "expected a table"),
        ({"tenant": {}}, "unknown key 'tenant'"),
        ({"default": 3}, "default: expected a CRM name"),
        ({"tenants": {"acme": {"crm": ""}}}, "tenants.acme.crm"),
        ({"tenants": {"acme": {"agents": {"a": 1}}}}, "tenants.acme.agents"),
        ({"tenants": {"acme": "hubspot"}}, "tenants.acme: expected"),
    ],
)
def test_bad_routing_documents_name_the_problem(doc, problem):
    """Routing errors are config errors with the place named."""
    with pytest.raises(WorkerConfigError, match=problem):
        routing_from_dict(doc)


def test_routing_file_and_default(tmp_path):
    """No file: only C360_CRM_DEFAULT; a file's default wins over the env default."""
    assert load_routing(None, "hubspot") == CrmRouting("hubspot")
    path = tmp_path / "routing.json"
    path.write_text(json.dumps({"tenants": {"acme": {"crm": "zoho"}}}))
    routing = load_routing(str(path), "hubspot")
    assert (routing.crm_for("acme", None, None), routing.crm_for("b", None, None)) == (
        "zoho",
        "hubspot",
    )
    with pytest.raises(WorkerConfigError, match="cannot read"):
        load_routing(str(tmp_path / "nope.json"), None)


def test_pauses_release_partitions_when_due_and_forget_revoked_ones():
    """A paused partition resumes at its time at its failed offset; revocation drops it."""
    pauses = Pauses()
    pauses.pause(("t", 0), 41, resume_at=10.0)
    pauses.pause(("t", 1), 7, resume_at=20.0)
    assert pauses.next_wakeup(now=5.0, default=1.0) == 1.0
    assert pauses.next_wakeup(now=9.5, default=1.0) == 0.5
    assert pauses.due(9.0) == []
    assert pauses.due(10.0) == [(("t", 0), 41)]
    pauses.drop([("t", 1)])
    assert pauses.waiting == {}




def test_settings_from_env_and_every_problem_at_once():
    """Parsed and validated once; all problems in one error; the test hook is opt-in."""
    settings = WorkerSettings.from_env(
        {
            "C360_TOPIC_PREFIX": "p.",
            "C360_CRM_DEFAULT": "hubspot",
            "C360_ENV": "dev",
            "C360_CRM_RETRY_MAX_SECONDS": "5",
            "C360_CRM_TEST_CRASH_AFTER_WRITE": "1",
        }
    )
    assert settings.topic("c360.dlq.v1") == "p.c360.dlq.v1"
    assert (settings.default_crm, settings.retry_max_seconds) == ("hubspot", 5.0)
    assert settings.crash_after_write is True
    assert WorkerSettings.from_env({}).crash_after_write is False
    with pytest.raises(WorkerConfigError) as caught:
        WorkerSettings.from_env(
            {
                "C360_CRM_LEDGER": "redis",
                "C360_CRM_RETRY_MAX_SECONDS": "x",
                "C360_CRM_RETRY_INITIAL_SECONDS": "0",
            }
        )
    for name in ("C360_CRM_LEDGER", "C360_CRM_RETRY_MAX_SECONDS", "C360_CRM_RETRY_INITIAL_SECONDS"):
        assert name in str(caught.value)
