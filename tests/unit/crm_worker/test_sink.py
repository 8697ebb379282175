"""CrmSink: one activity per key, revisions, stale replays, stale CRM ids, contact matching."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from connectors.crm.errors import CrmRejected, CrmUnavailable
from connectors.crm.ledger import InMemoryActivityLedger
from connectors.crm.routing import CrmRouting, TenantCrm
from connectors.crm.sink import CrmSink, NoAdapter
from schemas.records import ActivityRequested, CrmRecordHint
from tests.unit.crm_worker.fakes import FakeCrmAdapter

PHONE = "+442079460123"


def request(revision: int = 1, **changes) -> ActivityRequested:
    base = ActivityRequested(
        event_id=f"e-{revision}", tenant_id="acme",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC), interaction_id="ix-1",
        idempotency_key="acme:ix-1:default:call", kind="call", revision=revision,
        subject=f"Call r{revision}", agent_id="agent-1", customer_phone=PHONE,
    )
    return replace(base, **changes)


@pytest.fixture
def crm():
    return FakeCrmAdapter()


@pytest.fixture
def sink(crm):
    return CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger())


async def test_first_write_creates_and_reports_the_crm_ids(sink, crm):
    """A new key creates one activity linked to the contact found by phone."""
    contact = crm.add_contact(phone=PHONE)
    written = await sink.write(request())
    assert written.reason == "created"
    result = written.result
    assert (result.status, result.crm, result.crm_contact_id) == ("created", "hubspot", contact)
    assert result.crm_activity_id == crm.activities["acme:ix-1:default:call"]["id"]
    assert result.record_url.startswith("https://crm.test/")


async def test_a_replayed_request_writes_nothing_and_repeats_its_result(sink, crm):
    """The same request again (crash before the commit): no CRM call, identical result."""
    first = await sink.write(request())
    again = await sink.write(request())
    assert again.reason == "duplicate"
    assert again.result == first.result
    assert crm.upserts() == 1


async def test_a_higher_revision_updates_the_same_activity(sink, crm):
    """The last wrap-up / a late recording is an update of the stored activity id."""
    first = await sink.write(request(1))
    second = await sink.write(request(2))
    assert second.reason == "updated"
    assert second.result.crm_activity_id == first.result.crm_activity_id
    assert len(crm.activities) == 1
    assert crm.activities["acme:ix-1:default:call"]["subject"] == "Call r2"
    assert crm.calls[-1] == ("upsert_activity", (2, None, first.result.crm_activity_id))


async def test_a_stale_revision_is_ignored(sink, crm):
    """A replay of an older revision after a newer one never overwrites it."""
    await sink.write(request(5))
    stale = await sink.write(request(3))
    assert (stale.reason, stale.result) == ("stale", None)
    assert crm.upserts() == 1
    assert crm.activities["acme:ix-1:default:call"]["revision"] == 5


async def test_same_revision_with_new_content_is_written(sink, crm):
    """A late event that did not move the revision but changed the content still lands."""
    await sink.write(request(5))
    changed = await sink.write(request(5, duration_seconds=95))
    assert changed.reason == "updated"
    assert crm.upserts() == 2


async def test_without_the_ledger_the_crm_side_key_prevents_a_duplicate(crm):
    """A worker that never saw the key (partition moved, ledger lost) updates, not creates."""
    await CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger()).write(
        request(1))
    other = CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger())
    written = await other.write(request(2))
    assert written.reason == "updated"
    assert len(crm.activities) == 1


async def test_a_deleted_activity_or_merged_contact_is_repaired_by_a_fresh_lookup(sink, crm):
    """StaleCrmReference: drop the stored ids, find the contact again, write again."""
    old_contact = crm.add_contact(phone=PHONE)
    await sink.write(request(1))
    crm.activities.clear()  # deleted CRM-side
    del crm.contacts[old_contact]  # merged into a new record
    new_contact = crm.add_contact(phone=PHONE)
    written = await sink.write(request(2))
    assert written.reason == "created"
    assert written.result.crm_contact_id == new_contact
    assert crm.activities["acme:ix-1:default:call"]["contact"] == new_contact


async def test_still_stale_after_the_fresh_lookup_is_a_rejection(sink, crm):
    """Two stale answers in a row: permanent (dead-lettered by the worker)."""
    from connectors.crm.errors import StaleCrmReference  # noqa: PLC0415

    crm.script = [StaleCrmReference("gone", crm="hubspot", status=410)] * 2
    with pytest.raises(CrmRejected, match="still stale"):
        await sink.write(request())


async def test_transient_and_permanent_errors_reach_the_worker(sink, crm):
    """CrmUnavailable and CrmRejected propagate; nothing is recorded as written."""
    crm.script = [CrmUnavailable("429", crm="hubspot", status=429, retry_after=2.0)]
    with pytest.raises(CrmUnavailable):
        await sink.write(request())
    crm.script = [CrmRejected("400", crm="hubspot", status=400, excerpt="bad")]
    with pytest.raises(CrmRejected):
        await sink.write(request())
    assert (await sink.write(request())).reason == "created"


async def test_the_routing_hint_replaces_the_contact_search(sink, crm):
    """A contact hint for the selected CRM is used as is; another CRM's hint is not."""
    contact = crm.add_contact(email="x@example.com")
    hinted = request(crm_record_hint=CrmRecordHint("hubspot", "contact", contact),
                     customer_phone=None)
    assert (await sink.write(hinted)).result.crm_contact_id == contact
    assert not [c for c in crm.calls if c[0] == "find_contact"]
    other = request(crm_record_hint=CrmRecordHint("zoho", "contact", "z1"),
                    idempotency_key="acme:ix-2:default:call", interaction_id="ix-2")
    assert (await sink.write(other)).result.crm_contact_id is None
    assert [c for c in crm.calls if c[0] == "find_contact"]


async def test_unknown_customers_get_a_contact_only_when_configured(crm):
    """create_contacts=True creates the contact; the default writes without one."""
    plain = CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger())
    assert (await plain.write(request())).result.crm_contact_id is None
    creating = CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger(),
                       create_contacts=True)
    written = await creating.write(request(key := 2, idempotency_key=f"k{key}"))
    assert written.result.crm_contact_id in crm.contacts


async def test_no_crm_selected_skips_and_an_unconfigured_crm_is_an_error(crm):
    """A tenant without a CRM is fine (skipped); selecting a CRM without adapter is not."""
    none = CrmSink({"hubspot": crm}, CrmRouting(None), InMemoryActivityLedger())
    assert (await none.write(request())).reason == "no_crm"
    routing = CrmRouting(None, {"acme": TenantCrm("zoho")})
    with pytest.raises(NoAdapter, match="zoho"):
        await CrmSink({"hubspot": crm}, routing, InMemoryActivityLedger()).write(request())


async def test_the_after_write_hook_runs_after_the_crm_accepted(crm):
    """The test-only crash hook fires after the write, before the ledger records it."""
    ledger = InMemoryActivityLedger()
    seen = []
    sink = CrmSink({"hubspot": crm}, CrmRouting("hubspot"), ledger,
                   after_write=lambda: seen.append((len(crm.activities), len(ledger.entries))))
    await sink.write(request())
    assert seen == [(1, 0)]


async def test_with_the_adapters_twin_a_lost_answer_and_429s_leave_one_activity():
    """connectors.crm.memory twin: 429, 429, then a write whose answer is lost (timeout
    after the CRM applied it); the retries leave exactly one activity, then an update."""
    from connectors.crm.memory import InMemoryCrmAdapter  # noqa: PLC0415

    twin = InMemoryCrmAdapter("hubspot")
    sink = CrmSink({"hubspot": twin}, CrmRouting("hubspot"), InMemoryActivityLedger())
    twin.fail_next(CrmUnavailable("429", crm="hubspot", status=429, retry_after=1.0),
                   CrmUnavailable("429", crm="hubspot", status=429, retry_after=1.0))
    twin.fail_after_next_write(CrmUnavailable("timeout", crm="hubspot"))
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append((await sink.write(request())).reason)
            break
        except CrmUnavailable:
            outcomes.append("retry")
    assert outcomes[-1] == "updated"  # found by its key: the lost answer's write
    assert len(twin.activities) == 1
    assert (await sink.write(request(2))).reason == "updated"
    assert len(twin.activities) == 1


async def test_the_profiles_crm_id_beats_the_search(sink, crm):
    """profile_crm_ids[crm] names the contact: no search."""
    dave = crm.add_contact(phone="+442079460999")
    written = await sink.write(request(profile_crm_ids={"hubspot": dave, "zoho": "z1"}))
    assert written.result.crm_contact_id == dave
    assert not [c for c in crm.calls if c[0] == "find_contact"]


async def test_a_relink_moves_the_written_activity_and_says_so(sink, crm):
    """Written on Alice (search by phone); the relinked request names Dave: the same activity
    is updated with Dave as its contact and the move is reported; back to Alice likewise."""
    alice = crm.add_contact(phone=PHONE)
    dave = crm.add_contact(phone="+442079460999")
    first = await sink.write(request(1))
    assert first.result.crm_contact_id == alice
    moved = await sink.write(request(2, profile_crm_ids={"hubspot": dave}, target="profile"))
    assert (moved.reason, moved.result.crm_contact_id) == ("updated", dave)
    assert moved.result.detail == f"re-associated from contact {alice} to {dave}"
    assert ("moved_from", alice) in crm.calls
    assert crm.activities["acme:ix-1:default:call"]["contact"] == dave
    back = await sink.write(request(3))
    assert (back.result.crm_contact_id, back.result.detail) == (
        alice, f"re-associated from contact {dave} to {alice}")


async def test_the_same_target_reuses_the_stored_contact_without_a_search(sink, crm):
    """A later revision with the same identifiers: no second search, no move."""
    crm.add_contact(phone=PHONE)
    await sink.write(request(1))
    again = await sink.write(request(2))
    assert [c[0] for c in crm.calls].count("find_contact") == 1
    assert again.result.detail is None


async def test_a_linked_record_without_a_contact_leaves_the_activity_and_says_so(sink, crm):
    """Dave is not in this CRM (and contacts are not created): the activity stays on Alice."""
    alice = crm.add_contact(phone=PHONE)
    await sink.write(request(1))
    kept = await sink.write(request(2, customer_phone="+442079460999"))
    assert kept.result.crm_contact_id == alice
    assert "no contact in hubspot" in kept.result.detail
