"""Worker policy pieces: CRM routing, backoff, pauses, ledger contract, settings."""

from __future__ import annotations

import json

import pytest

from connectors.crm.kafka_consumer import Pauses, backoff_delay
from connectors.crm.ledger import InMemoryActivityLedger, LedgerEntry
from connectors.crm.routing import CrmRouting, load_routing, routing_from_dict
from connectors.crm.sqlite_ledger import SqliteActivityLedger
from connectors.crm.worker_settings import WorkerConfigError, WorkerSettings

ROUTING = routing_from_dict({
    "default": "webhook",
    "tenants": {"acme": {"crm": "salesforce", "agents": {"agent-7": "hubspot"}},
                "beta": {"agents": {"agent-1": "zoho"}}},
})


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
        "zoho", "hubspot")
    with pytest.raises(WorkerConfigError, match="cannot read"):
        load_routing(str(tmp_path / "nope.json"), None)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "rand", "delay"),
    [
        (1, None, 0.0, 0.25),  # half of the initial delay at the lowest jitter
        (1, None, 1.0, 0.5),
        (3, None, 1.0, 2.0),
        (20, None, 1.0, 60.0),  # capped
        (1, 5.0, 0.0, 5.0),  # Retry-After is a floor
        (1, 500.0, 0.0, 60.0),  # ...but the cap still holds
        (4, 1.0, 1.0, 4.0),  # backoff above the hint
    ],
)
def test_backoff_is_capped_exponential_with_jitter_and_honours_retry_after(
    attempt, retry_after, rand, delay
):
    """delay = min(cap, max(retry_after, initial * 2^(n-1) * jitter))."""
    assert backoff_delay(attempt, retry_after, 0.5, 60.0, lambda: rand) == delay


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


@pytest.fixture(params=["memory", "sqlite"])
def ledger(request, tmp_path):
    store = InMemoryActivityLedger() if request.param == "memory" else SqliteActivityLedger(
        tmp_path / "sub" / "ledger.sqlite3")
    yield store
    store.close()


def test_ledger_contract_keeps_the_highest_revision(ledger):
    """Both ledgers: get/put per (key, CRM); a lower revision never replaces a higher one."""
    assert ledger.get("k", "hubspot") is None
    entry = LedgerEntry("a1", 5, "f5", "created", "c1", "https://x/a1")
    ledger.put("k", "hubspot", entry)
    assert ledger.get("k", "hubspot") == entry
    assert ledger.get("k", "zoho") is None
    ledger.put("k", "hubspot", LedgerEntry("a1", 3, "f3", "updated"))
    assert ledger.get("k", "hubspot") == entry
    newer = LedgerEntry("a1", 5, "f5b", "updated", "c2")
    ledger.put("k", "hubspot", newer)
    assert ledger.get("k", "hubspot") == newer


def test_sqlite_ledger_survives_a_restart(tmp_path):
    """The file keeps what was written (a worker restart finds its entries)."""
    path = tmp_path / "ledger.sqlite3"
    first = SqliteActivityLedger(path)
    first.put("k", "hubspot", LedgerEntry("a1", 1, "f", "created"))
    first.close()
    second = SqliteActivityLedger(path)
    assert second.get("k", "hubspot") == LedgerEntry("a1", 1, "f", "created")
    second.close()


def test_settings_from_env_and_every_problem_at_once():
    """Parsed and validated once; all problems in one error; the test hook is opt-in."""
    settings = WorkerSettings.from_env({
        "C360_TOPIC_PREFIX": "p.", "C360_CRM_DEFAULT": "hubspot", "C360_ENV": "dev",
        "C360_CRM_RETRY_MAX_SECONDS": "5", "C360_CRM_TEST_CRASH_AFTER_WRITE": "1",
    })
    assert settings.topic("c360.dlq.v1") == "p.c360.dlq.v1"
    assert (settings.default_crm, settings.retry_max_seconds) == ("hubspot", 5.0)
    assert settings.crash_after_write is True
    assert WorkerSettings.from_env({}).crash_after_write is False
    with pytest.raises(WorkerConfigError) as caught:
        WorkerSettings.from_env({"C360_CRM_LEDGER": "redis", "C360_CRM_RETRY_MAX_SECONDS": "x",
                                 "C360_CRM_RETRY_INITIAL_SECONDS": "0"})
    for name in ("C360_CRM_LEDGER", "C360_CRM_RETRY_MAX_SECONDS",
                 "C360_CRM_RETRY_INITIAL_SECONDS"):
        assert name in str(caught.value)
