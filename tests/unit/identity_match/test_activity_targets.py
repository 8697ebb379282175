"""Activities land on the record the interaction is linked to (streams side, in-memory twins):
relink before wrap-up, relink after (re-targeted with a higher revision), relink back,
manual notes, duplicates, and the agent's CRM choice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from projections.memory import InMemoryInteractionParties, InMemoryTimelineStore
from projections.memory_profiles import (
    InMemoryInteractionLinks,
    InMemoryPopCache,
    InMemoryProfileDirectory,
)
from schemas import codec
from schemas.records import (
    ActivityRequested,
    DesktopActionTaken,
    ProfileUpserted,
    RecordingAvailable,
)
from streams.activities import handle_crm_choice, handle_desktop_activity
from streams.bootstrap import build_deps
from streams.contacts import handle_profile_upserted
from streams.directory import DirectoryDeps
from streams.pipeline import PartyCache, run_batch
from streams.relink import handle_desktop_action
from tests.factories import CALLER, T0, eid, voice_call
from tests.unit.identity_match.test_screen_pop_flow import LAYOUT, NOW, SCHEMA, SETTINGS, Msg

DAVE_PHONE = "+442079460456"
WRAP = T0 + timedelta(minutes=3)  # after voice_call's wrap-up


@pytest.fixture
def deps():
    directory = DirectoryDeps(
        SETTINGS, InMemoryProfileDirectory(SCHEMA.policy_for), InMemoryInteractionLinks(),
        InMemoryPopCache(), SCHEMA, LAYOUT,
    )
    return build_deps(SETTINGS, timeline=InMemoryTimelineStore(),
                      parties=InMemoryInteractionParties(), clock_ms=lambda: NOW,
                      directory=directory)


async def profiles(deps, dave_crm_ids=None):
    for pid, phone, emails, crm_ids in (
        ("p-alice", CALLER, (), {"hubspot": "hs-alice"}),
        ("p-dave", DAVE_PHONE, ("dave@example.com",), dave_crm_ids or {}),
    ):
        await handle_profile_upserted(ProfileUpserted(
            eid(), "acme", T0 - timedelta(days=1), pid, pid, (phone,), emails, {}, "csv",
            crm_ids=crm_ids), deps)


async def activities(events, deps) -> list[ActivityRequested]:
    found = []
    for event in events:
        out = await run_batch([Msg(codec.encode(event))], deps, PartyCache())
        assert not out.failures, out.failures
        found += [o.value for o in out.outputs if isinstance(o.value, ActivityRequested)]
    return found


def action(name, at, **fields):
    return DesktopActionTaken(eid(), "acme", at, "agent-1", "ix-1", name, **fields)


def emitted(out):
    return [o.value for o in out if isinstance(o.value, ActivityRequested)]


async def test_unlinked_call_activity_searches_by_the_callers_number(deps):
    await profiles(deps)
    calls = await activities(voice_call("ix-1"), deps)
    # the pop linked the matched profile (system link): Alice, with her CRM id
    assert {(a.profile_id, a.target, a.customer_phone) for a in calls} == {
        ("p-alice", "profile", CALLER)}
    assert calls[-1].profile_crm_ids == {"hubspot": "hs-alice"}


async def test_relink_before_wrap_up_targets_dave_for_the_call_and_the_note(deps):
    await profiles(deps, {"hubspot": "hs-dave"})
    call = voice_call("ix-1")
    await activities(call[:3], deps)
    await handle_desktop_action(action("relink", T0 + timedelta(seconds=30),
                                       profile_id="p-dave"), deps)
    written = await activities(call[3:], deps)
    note = emitted(await handle_desktop_activity(
        action("add_note", WRAP, text="Called about the invoice"), deps))
    for a in [*written, *note]:
        assert (a.profile_id, a.profile_crm_ids, a.target) == (
            "p-dave", {"hubspot": "hs-dave"}, "profile")
        assert (a.customer_phone, a.customer_email) == (DAVE_PHONE, "dave@example.com")


async def test_relink_after_wrap_up_re_emits_with_a_higher_revision_and_back(deps):
    await profiles(deps)  # Dave has no CRM id: the sink searches by Dave's identifiers
    written = await activities(voice_call("ix-1"), deps)
    last = written[-1]
    # automatic activities are recomputed from the entry on a relink, never logged
    assert (await deps.activity_log.read("acme", "ix-1")).activities == ()
    out = emitted(await handle_desktop_action(action("relink", WRAP, profile_id="p-dave"), deps))
    assert [(a.idempotency_key, a.profile_id, a.target, a.customer_phone) for a in out] == [
        (last.idempotency_key, "p-dave", "search", DAVE_PHONE)]
    assert out[0].revision > last.revision and out[0].event_id != last.event_id
    again = emitted(await handle_desktop_action(
        action("relink", WRAP, profile_id="p-dave"), deps))
    assert again == []  # a redelivered relink changes nothing
    back = emitted(await handle_desktop_action(
        action("open_profile", WRAP + timedelta(minutes=1), profile_id="p-alice"), deps))
    assert [(a.profile_id, a.profile_crm_ids) for a in back] == [
        ("p-alice", {"hubspot": "hs-alice"})]
    assert back[0].revision > out[0].revision


async def test_a_picked_crm_record_beats_the_profile_ids(deps):
    await profiles(deps, {"hubspot": "hs-dave"})
    await activities(voice_call("ix-1"), deps)
    out = emitted(await handle_desktop_action(action(
        "relink", WRAP, profile_id="p-dave", crm="hubspot", record_id="hubspot:contact:hs-9"),
        deps))
    assert out[0].target == "agent"
    assert out[0].crm_record_hint.record_id == "hs-9"


async def test_choose_crm_sends_later_and_earlier_activities_to_the_chosen_crm(deps):
    await profiles(deps)
    written = await activities(voice_call("ix-1"), deps)
    out = emitted(await handle_crm_choice(action("choose_crm", WRAP, crm="salesforce"), deps))
    assert [(a.crm, a.crm_choice, a.idempotency_key) for a in out] == [
        ("salesforce", "agent", written[-1].idempotency_key)]
    assert emitted(await handle_crm_choice(
        action("choose_crm", WRAP, crm="salesforce"), deps)) == []
    note = emitted(await handle_desktop_activity(
        action("add_note", WRAP + timedelta(seconds=5), text="x"), deps))
    assert [(a.crm, a.crm_choice) for a in note] == [("salesforce", "agent")]
    moved = emitted(await handle_desktop_action(
        action("relink", WRAP + timedelta(seconds=9), profile_id="p-dave"), deps))
    # every copy follows the relink: the default-CRM call (written before the choice), the
    # salesforce call and the note
    assert sorted((a.crm or "", a.kind) for a in moved) == [
        ("", "call"), ("salesforce", "call"), ("salesforce", "note")]
    assert {a.profile_id for a in moved} == {"p-dave"}


async def test_a_late_update_after_a_relink_is_revised_above_the_re_target(deps):
    """A recording that arrives after the relink, stamped before it, still reaches the CRM:
    its activity gets a revision above the re-targeted one; a replay stays a duplicate."""
    await profiles(deps)
    call = voice_call("ix-1")
    await activities(call, deps)
    out = emitted(await handle_desktop_action(
        action("relink", WRAP + timedelta(hours=1), profile_id="p-dave"), deps))
    late = RecordingAvailable(eid(), "acme", WRAP + timedelta(minutes=1), "ix-1", "voice",
                              "https://rec.test/ix-1.wav")
    (updated,) = await activities([late], deps)
    assert updated.revision == out[0].revision + 1
    assert (updated.recording_url, updated.profile_id) == ("https://rec.test/ix-1.wav", "p-dave")
    (replayed,) = await activities([late], deps)
    assert replayed == updated  # the sink sees a duplicate


async def test_a_choice_before_the_wrap_up_means_one_crm_only_follows_the_relink(deps):
    """Chosen before the activity was first written: it only ever went to the chosen CRM,
    so a relink moves it there and writes nothing to the default CRM."""
    await profiles(deps)
    call = voice_call("ix-1")
    await activities(call[:3], deps)
    await handle_crm_choice(action("choose_crm", T0 + timedelta(seconds=20), crm="salesforce"),
                            deps)
    written = await activities(call[3:], deps)
    assert {(a.crm, a.crm_choice) for a in written} == {("salesforce", "agent")}
    moved = emitted(await handle_desktop_action(
        action("relink", WRAP + timedelta(seconds=9), profile_id="p-dave"), deps))
    assert [(a.crm, a.profile_id) for a in moved] == [("salesforce", "p-dave")]
