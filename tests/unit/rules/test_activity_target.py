"""The pure target rule: hint > agent pick > profile CRM ids > search; the CRM choice."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from core.activity_target import (
    Caller,
    LinkedProfile,
    fill,
    linked_profile,
    picked_record,
    retarget,
    target_for,
)
from core.links import LinkAction
from core.profiles import Profile, ProfileIdentifier
from schemas.records import CrmRecordHint
from tests.unit.crm.samples import activity

HINT = CrmRecordHint("hubspot", "contact", "hs-plan")
PICK = CrmRecordHint("hubspot", "contact", "hs-pick")
DAVE = LinkedProfile("p-dave", {"hubspot": "hs-dave"}, "+442079460456", "d@example.com")
ALICE = Caller("+14155550100", None)


def test_the_routing_plan_hint_wins():
    t = target_for(rule_crm=None, plan_hint=HINT, linked=dataclasses.replace(DAVE, picked=PICK),
                   caller_phone=ALICE.phone, caller_email=None)
    assert (t.target, t.crm_record_hint, t.profile_id) == ("hint", HINT, "p-dave")


def test_the_picked_record_beats_the_profile_ids():
    t = target_for(rule_crm=None, plan_hint=None, linked=dataclasses.replace(DAVE, picked=PICK),
                   caller_phone=ALICE.phone, caller_email=None)
    assert (t.target, t.crm_record_hint) == ("agent", PICK)


def test_profile_ids_then_search_by_the_linked_profiles_identifiers():
    t = target_for(rule_crm=None, plan_hint=None, linked=DAVE, caller_phone=ALICE.phone,
                   caller_email=None)
    assert (t.target, t.profile_crm_ids, t.customer_phone) == (
        "profile", {"hubspot": "hs-dave"}, DAVE.phone)
    bare = dataclasses.replace(DAVE, crm_ids={})
    t = target_for(rule_crm=None, plan_hint=None, linked=bare, caller_phone=ALICE.phone,
                   caller_email=None)
    assert (t.target, t.customer_phone, t.customer_email) == ("search", DAVE.phone, DAVE.email)
    t = target_for(rule_crm=None, plan_hint=None, linked=None, caller_phone=ALICE.phone,
                   caller_email=None)
    assert (t.target, t.customer_phone, t.profile_id) == ("search", ALICE.phone, None)


def test_another_crms_hint_or_id_does_not_apply():
    t = target_for(rule_crm="salesforce", plan_hint=HINT, linked=DAVE,
                   caller_phone=None, caller_email=None)
    assert (t.target, t.crm_record_hint, t.crm_choice) == ("search", None, "rule")


def test_the_agents_choice_unless_a_rule_names_its_crm():
    t = target_for(rule_crm=None, plan_hint=None, linked=None, caller_phone=None,
                   caller_email=None, chosen_crm="zoho")
    assert (t.crm, t.crm_choice) == ("zoho", "agent")
    t = target_for(rule_crm="hubspot", plan_hint=None, linked=None, caller_phone=None,
                   caller_email=None, chosen_crm="zoho")
    assert (t.crm, t.crm_choice) == ("hubspot", "rule")


def test_picked_records_and_linked_profiles():
    assert picked_record("hubspot", "hubspot:contact:1") == CrmRecordHint("hubspot", "contact", "1")
    assert picked_record("zoho", "hubspot:contact:1") is None
    assert picked_record(None, "hubspot:deal:1") is None
    profile = Profile("acme", "p-dave", (1, "e"), identifiers=(
        ProfileIdentifier("email", "d@example.com", "t1"),
        ProfileIdentifier("phone", "+442079460456", "t2")), crm_ids={"zoho": "z1"})
    link = LinkAction("e1", 5, "p-dave", crm="zoho", record_id="zoho:contact:z9")
    linked = linked_profile(link, profile)
    assert linked == LinkedProfile("p-dave", {"zoho": "z1"}, "+442079460456", "d@example.com",
                                   CrmRecordHint("zoho", "contact", "z9"))
    assert linked_profile(link, dataclasses.replace(profile, deleted=True)) is None


def test_link_actions_keep_the_picked_record_and_read_old_rows():
    link = LinkAction("e1", 5, "p", crm="hubspot", record_id="hubspot:contact:1")
    assert LinkAction.from_json("e1", link.to_json()) == link
    old = LinkAction("e2", 6, "p")
    assert old.to_json().count(",") == 4  # the five-item form, as before
    assert LinkAction.from_json("e2", old.to_json()) == old


_links = st.one_of(st.none(), st.builds(
    LinkedProfile, st.sampled_from(["p-a", "p-b"]),
    st.dictionaries(st.sampled_from(["hubspot", "zoho"]), st.sampled_from(["1", "2"]),
                    max_size=2),
    st.sampled_from([None, "+441"]), st.sampled_from([None, "x@y.z"]),
    st.sampled_from([None, PICK])))
_crms = st.sampled_from([None, "hubspot", "zoho"])


@given(_links, _links, _crms, st.sampled_from([None, HINT]), st.integers(0, 10**6))
def test_retargeting_is_idempotent_and_ends_where_a_fresh_fill_would(a, b, chosen, hint,
                                                                    revision):
    """Re-targeting twice to the same link changes nothing the second time; re-targeting
    from any earlier link gives the target a fresh fill would; revisions only grow."""
    built = activity(crm_record_hint=hint)
    first = fill(built, caller=ALICE, linked=a, chosen_crm=chosen)
    moved = retarget(first, caller=ALICE, linked=b, chosen_crm=chosen, revision=revision)
    fresh = fill(built, caller=ALICE, linked=b, chosen_crm=chosen)
    current = moved or first
    assert dataclasses.replace(current, revision=fresh.revision,
                               event_id=fresh.event_id) == fresh
    if moved is not None:
        assert moved.revision > first.revision
    assert retarget(current, caller=ALICE, linked=b, chosen_crm=chosen, revision=revision) is None
