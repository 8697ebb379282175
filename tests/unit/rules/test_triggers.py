"""Triggers beyond wrap-up: classification, `on`, default subjects, keys and revisions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ports import Party
from core.rules import (
    ActivityAction,
    ActivityRule,
    Conditions,
    RuleSet,
    Template,
    activities_for,
    default_rules,
)
from core.rules_config import parse_rules
from core.timeline import fold
from core.triggers import TRIGGERS, trigger_of
from schemas.records import (
    InteractionAccepted,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    InteractionWrappedUp,
    RecordingAvailable,
)
from tests.factories import CALLER, CENTRE, T0, voice_call

PARTY = Party("acme", "tok123", "phone", CALLER)
EXAMPLE = Path(__file__).parents[3] / "docs" / "examples" / "activity-rules.toml"
IX = "ix-t"


def _at(seconds: int):
    return T0 + timedelta(seconds=seconds)


def queued(channel: str = "voice", queue: str | None = "Support", direction: str = "inbound"):
    stage = "queued" if queue else "ivr"
    return InteractionOffered("e-q", "acme", _at(0), IX, channel, direction, CALLER, CENTRE,
                              stage=stage, queue=queue)


def rang(agent: str = "agent-1", channel: str = "voice"):
    return InteractionOffered("e-o", "acme", _at(20), IX, channel, "inbound", CALLER, CENTRE,
                              stage="offered", agent_id=agent, queue="Support", leg_id="l1")


def accepted(channel: str = "voice"):
    return InteractionAccepted("e-a", "acme", _at(30), IX, channel, "agent-1", leg_id="l1")


def ended(reason: str | None = None, channel: str = "voice", direction: str = "inbound"):
    return InteractionEnded("e-e", "acme", _at(42), IX, channel, direction, CALLER, CENTRE, 42,
                            started_at=_at(0), end_reason=reason)


def leg_ended(duration: int, agent: str | None = None):
    return InteractionEnded("e-l", "acme", _at(40), IX, "voice", "inbound", CALLER, CENTRE,
                            duration, agent_id=agent, leg_id="l1")


def recording(channel: str = "voice"):
    return RecordingAvailable("e-r", "acme", _at(120), IX, channel, "https://rec.test/vm.wav", 30)


def wrapped(channel: str = "voice"):
    return InteractionWrappedUp("e-w", "acme", _at(90), IX, channel, "agent-1",
                                disposition_code="DONE")


def _entry(events: list[InteractionEvent]):
    return fold(events)[IX]


@pytest.mark.parametrize(
    ("events", "trigger"),
    [
        ([queued(), rang(), accepted(), ended(), wrapped()], "wrapup"),
        ([queued(), ended(), wrapped()], "wrapup"),  # a wrap-up always wins
        ([queued(), rang(), accepted(), ended()], None),  # answered, not wrapped up yet
        ([queued(), rang()], None),  # still ringing
        ([queued(), rang(), ended()], "missed"),
        ([queued(queue=None), ended("no-answer")], "missed"),  # Twilio/FreeSWITCH reason
        ([queued(), rang(), leg_ended(0), ended("completed")], "missed"),  # rang, no talk
        ([queued(), rang(), leg_ended(35), ended("completed")], None),  # Twilio: talked
        ([queued(), ended("CUSTOMER_DISCONNECT")], "abandoned"),
        ([queued(), leg_ended(42)], "abandoned"),  # Amazon Connect: the contact is a leg
        ([queued(queue=None), ended("Caller abandoned")], "abandoned"),
        ([queued(queue=None), ended("completed")], None),  # self-service in the IVR
        ([queued(), ended(), recording()], "voicemail"),
        ([queued(), rang(), ended(), recording()], "voicemail"),
        ([queued(queue=None), ended("VOICEMAIL")], "voicemail"),
        ([queued(direction="outbound"), ended("no-answer", direction="outbound")], None),
        ([queued(direction="internal"), ended(direction="internal")], None),
        ([queued("chat", "Digital"), ended(channel="chat")], "parked"),
        ([queued("email", None), ended(channel="email")], "parked"),
        ([queued("chat"), rang(channel="chat"), accepted("chat"), ended(channel="chat")], None),
        ([queued("chat")], None),
    ],
)
def test_what_each_trigger_means(events, trigger):
    """The table in docs/activities.md, from the fields the fold keeps."""
    assert trigger_of(_entry(events)) == trigger


def _on(triggers, *actions, rule_id="r"):
    return ActivityRule(rule_id, Conditions(), actions or (ActivityAction("call"),),
                        frozenset(triggers))


def _fire(events, *rules):
    return activities_for(_entry(events), PARTY, RuleSet(default=rules))


@pytest.mark.parametrize(
    ("events", "subject"),
    [
        ([queued(), rang(), ended()], "Missed call (Support)"),
        ([queued(queue=None), ended("no-answer")], "Missed call"),
        ([queued(), ended("CUSTOMER_DISCONNECT")], "Abandoned call after 42s in queue (Support)"),
        ([queued(queue=None), ended("abandoned")], "Abandoned call"),
        ([queued(), ended(), recording()], "Voicemail (Support)"),
        ([queued("chat", "Digital"), ended(channel="chat")], "Chat ended without an agent "
                                                             "(Digital)"),
        ([queued("email", None), ended(channel="email")], "Email ended without an agent"),
        ([queued("whatsapp", None), ended(channel="whatsapp")],
         "WhatsApp conversation ended without an agent"),
        ([queued(), rang(), accepted(), ended(), wrapped()], "DONE"),  # the title, as before
    ],
)
def test_default_subjects_name_no_customer(events, subject):
    """A rule without a subject gets its trigger's subject: queue and wait, no number."""
    (activity,) = _fire(events, _on(TRIGGERS))
    assert activity.subject == subject
    assert CALLER not in activity.subject


def test_rules_fire_only_on_their_triggers_and_the_built_in_rule_stays_at_wrap_up():
    """`on` selects the moments; rules without it (and the built-in rule) mean wrap-up."""
    missed = [queued(), rang(), ended()]
    assert activities_for(_entry(missed), PARTY, default_rules(10)) == []
    assert _fire(missed, _on({"wrapup"})) == []
    assert _fire(missed, _on({"abandoned", "voicemail"})) == []
    (activity,) = _fire(missed, _on({"abandoned"}, rule_id="a"), _on({"missed"}, rule_id="m"))
    assert activity.rule_id == "m"
    assert activity.idempotency_key == f"acme:{IX}:default:call"
    answered = [queued(), rang(), accepted(), ended(), wrapped()]
    (built_in,) = activities_for(_entry(answered), PARTY, default_rules(10))
    assert built_in.subject == "DONE"


def test_templates_name_the_trigger_the_wait_and_the_end_reason():
    """{trigger}, {wait}, {wait_seconds} and {end_reason} are placeholders."""
    action = ActivityAction("task", subject=Template.of("{trigger}: {wait_seconds}s in {queue}"),
                            body=Template.of("Waited {wait}\nReason: {end_reason}"))
    (task,) = _fire([queued(), ended("CUSTOMER_DISCONNECT")], _on({"abandoned"}, action))
    assert task.subject == "abandoned: 42s in Support"
    assert task.body == "Waited 42s\nReason: CUSTOMER_DISCONNECT"


def test_a_late_recording_turns_the_missed_call_into_a_voicemail_of_the_same_activity():
    """Same (CRM, kind) = same key: the later trigger is a higher revision, an update."""
    rules = (_on({"missed", "voicemail"}),)
    (missed,) = _fire([queued(), rang(), ended()], *rules)
    (voicemail,) = _fire([queued(), rang(), ended(), recording()], *rules)
    assert missed.idempotency_key == voicemail.idempotency_key
    assert voicemail.revision > missed.revision
    assert (missed.subject, voicemail.subject) == ("Missed call (Support)", "Voicemail (Support)")
    assert voicemail.recording_url == "https://rec.test/vm.wav"
    assert missed.event_id != voicemail.event_id


def test_a_wrap_up_after_a_missed_call_updates_the_same_call_activity():
    """An agent who wraps up a call classified missed: the wrap-up revision replaces it."""
    rules = (_on({"missed"}), _on({"wrapup"}, rule_id="w"))
    (missed,) = _fire([queued(), rang(), ended()], *rules)
    (wrap,) = _fire([queued(), rang(), ended(), wrapped()], *rules)
    assert wrap.idempotency_key == missed.idempotency_key
    assert (wrap.rule_id, wrap.revision > missed.revision) == ("w", True)


def test_the_example_rules_file_parses_and_fires_on_each_trigger():
    """docs/examples/activity-rules.toml stays valid and covers every trigger."""
    rules = parse_rules(EXAMPLE.read_text(), default_rules(10), toml=True)
    assert set().union(*(r.on for r in rules.default)) == set(TRIGGERS)
    cases = {
        "missed": [queued(), rang(), ended()],
        "abandoned": [queued(), ended("CUSTOMER_DISCONNECT")],
        "voicemail": [queued(), ended(), recording()],
        "parked": [queued("chat", "Digital"), ended(channel="chat")],
        "wrapup": voice_call(IX),
    }
    for trigger, events in cases.items():
        assert trigger_of(_entry(events)) == trigger
        assert activities_for(_entry(events), PARTY, rules), trigger


# One interaction's possible events: any subset, in any order, with duplicates.
POOL = [queued(), rang(), accepted(), leg_ended(0), leg_ended(35, "agent-1"), ended(),
        ended("no-answer"), recording(), wrapped(), queued(queue=None)]
# Same ids must mean the same event: give the variants their own ids.
POOL = [e.__class__(**{**{f: getattr(e, f) for f in e.__dataclass_fields__},
                       "event_id": f"p{n}"}) for n, e in enumerate(POOL)]


@st.composite
def orderings(draw):
    chosen = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=8, unique_by=id))
    with_dups = chosen + draw(st.lists(st.sampled_from(chosen), max_size=4))
    return chosen, draw(st.permutations(with_dups))


RULES = RuleSet(default=(
    _on({"wrapup"}, ActivityAction("call"), rule_id="w"),
    _on({"missed", "voicemail", "abandoned"}, ActivityAction("call"), ActivityAction("task"),
        rule_id="m"),
))


@settings(max_examples=300, deadline=None)
@given(orderings())
def test_trigger_and_activities_depend_on_the_set_of_events_only(case):
    """Order and duplicates change neither the trigger nor the activities (same ids and
    revisions: a re-delivered event re-emits the same revision, which the sink ignores)."""
    chosen, shuffled = case
    reference, entry = _entry(chosen), _entry(shuffled)
    assert trigger_of(entry) == trigger_of(reference)
    assert activities_for(entry, PARTY, RULES) == activities_for(reference, PARTY, RULES)
    again = activities_for(_entry([*shuffled, *shuffled]), PARTY, RULES)
    assert again == activities_for(entry, PARTY, RULES)


def test_the_dev_stack_gives_the_demo_tenant_a_missed_call_activity(tmp_path):
    """`c360 dev up` uses c360/dev_rules.toml (unless C360_RULES_FILE is set): the demo
    history's unanswered call from Bruno becomes "Missed call (Sales)", its unanswered chat a
    parked task; other tenants keep the built-in rule."""
    from c360.demo import history  # noqa: PLC0415
    from c360.devspecs import DEV_RULES, StackContext, stack_env  # noqa: PLC0415

    ctx = StackContext("127.0.0.1:1", "redis://x", 8360, tmp_path, tmp_path)
    assert stack_env(ctx, {})["C360_RULES_FILE"] == str(DEV_RULES)
    assert stack_env(ctx, {"C360_RULES_FILE": "/etc/r.json"})["C360_RULES_FILE"] == "/etc/r.json"
    rules = parse_rules(DEV_RULES.read_text(), default_rules(10), toml=True)
    assert rules.for_tenant("other") == default_rules(10).default
    entries = fold(list(history(T0)))
    subjects = {iid: [a.subject for a in activities_for(e, PARTY, rules)]
                for iid, e in entries.items()}
    assert subjects["demo-b2"] == ["Missed call (Sales)"]
    assert subjects["demo-a3"] == ["Chat ended without an agent (Digital)"]
