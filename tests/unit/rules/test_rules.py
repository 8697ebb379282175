"""Automation rules, table-driven: conditions, templates, keys, revisions, manual activities."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.ports import Party
from core.rules import (
    ActivityAction,
    ActivityRule,
    CallActivityRule,
    Conditions,
    RuleError,
    RuleSet,
    Template,
    activities_for,
    call_activity_for,
    default_rules,
    kind_of_key,
    manual_key,
    matches,
)
from core.timeline import fold
from schemas.records import (
    DesktopActionTaken,
    InteractionAnalyzed,
    InteractionOffered,
    InteractionWrappedUp,
    RecordingAvailable,
)
from streams.activities import manual_activity_for
from tests.factories import CALLER, CENTRE, T0, eid, voice_call

PARTY = Party("acme", "tok123", "phone", CALLER)


def _entry(events):
    return fold(events)[events[0].interaction_id]


def _call(**kwargs):
    return _entry(voice_call("ix-1", **kwargs))


def _chat():
    start = T0
    return _entry([
        InteractionOffered(eid(), "acme", start, "ix-c", "chat", "inbound", "ada@example.com",
                           "support@acme.test", queue="Support", subject="Broken login"),
        InteractionWrappedUp(eid(), "acme", start + timedelta(minutes=5), "ix-c", "chat",
                             "agent-2", disposition_code="RESOLVED", outcome="solved"),
    ])


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (Conditions(), True),
        (Conditions(channels=frozenset({"voice"})), True),
        (Conditions(channels=frozenset({"chat", "email"})), False),
        (Conditions(directions=frozenset({"INBOUND"})), True),
        (Conditions(directions=frozenset({"outbound"})), False),
        (Conditions(min_duration_seconds=95), True),
        (Conditions(min_duration_seconds=96), False),
        (Conditions(max_duration_seconds=95), True),
        (Conditions(max_duration_seconds=60), False),
        (Conditions(dispositions=frozenset({"sale"})), True),
        (Conditions(dispositions=frozenset({"NO_SALE"})), False),
        (Conditions(queues=frozenset({"Sales", "Billing"})), True),
        (Conditions(queues=frozenset({"Support"})), False),
        (Conditions(outcomes=frozenset({"solved"})), False),  # the call has no outcome
        (Conditions(channels=frozenset({"voice"}), dispositions=frozenset({"SALE"}),
                    min_duration_seconds=10, queues=frozenset({"sales"})), True),
    ],
)
def test_conditions_on_a_wrapped_up_sales_call(when, expected):
    """Each condition (set = any of, case-insensitive; bounds inclusive) against one call."""
    assert matches(_call(), when) is expected


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (Conditions(min_duration_seconds=0), False),  # no duration known: bounds never hold
        (Conditions(max_duration_seconds=10_000), False),
        (Conditions(outcomes=frozenset({"SOLVED"})), True),
        (Conditions(queues=frozenset({"Support"}), channels=frozenset({"chat"})), True),
    ],
)
def test_conditions_on_a_chat_without_duration(when, expected):
    """An unknown duration fails any duration bound; outcome and queue come from the chat."""
    assert matches(_chat(), when) is expected


def test_nothing_before_the_agent_enters_wrap_up():
    """A call that ended but was not wrapped up asks for no activity."""
    events = voice_call("ix-1")[:-1]
    assert activities_for(_entry(events), PARTY, default_rules()) == []


@pytest.mark.parametrize(("duration", "expected"), [(9, 0), (10, 1), (95, 1)])
def test_the_default_rule_is_the_call_rule(duration, expected):
    """Voice, ended, duration >= C360_ACTIVITY_MIN_CALL_SECONDS -> one call activity."""
    entry = _call(duration=duration)
    found = activities_for(entry, PARTY, default_rules(10))
    assert len(found) == expected
    legacy = call_activity_for(entry, PARTY, CallActivityRule(min_seconds=10))
    assert (legacy is not None) is bool(expected)
    if found:
        assert found[0] == legacy
        assert found[0].idempotency_key == "acme:ix-1:default:call"
        assert found[0].kind == "call"
        assert found[0].customer_phone == CALLER


def test_default_body_drops_lines_with_nothing_to_show_and_links_late_media():
    """Notes and disposition show; recording/transcript lines appear once they exist."""
    events = voice_call("ix-1")
    first = activities_for(_entry(events), PARTY, default_rules())[0]
    assert first.body == "Customer renewed.\nDisposition: SALE"
    assert first.recording_url is None
    late = T0 + timedelta(hours=1)
    events += [
        RecordingAvailable(eid(), "acme", late, "ix-1", "voice", "https://rec.test/1.wav"),
        InteractionAnalyzed(eid(), "acme", late + timedelta(minutes=1), "ix-1", "voice",
                            transcript_url="https://tx.test/1", ai_title="Renewal call"),
    ]
    second = activities_for(_entry(events), PARTY, default_rules())[0]
    assert second.idempotency_key == first.idempotency_key
    assert second.revision > first.revision
    assert second.recording_url == "https://rec.test/1.wav"
    assert second.transcript_url == "https://tx.test/1"
    assert second.subject == "Renewal call"
    assert "Recording: https://rec.test/1.wav" in second.body


def test_the_last_wrap_up_wins_as_a_new_revision():
    """A second wrap-up updates the same activity (same key and event id scheme)."""
    events = voice_call("ix-1")
    first = activities_for(_entry(events), PARTY, default_rules())[0]
    events.append(InteractionWrappedUp(eid(), "acme", T0 + timedelta(hours=2), "ix-1", "voice",
                                       "agent-1", disposition_code="CALLBACK"))
    second = activities_for(_entry(events), PARTY, default_rules())[0]
    assert (second.idempotency_key, second.disposition_code) == (first.idempotency_key,
                                                                  "CALLBACK")
    assert second.revision > first.revision
    assert second.event_id != first.event_id
    assert activities_for(_entry(events), PARTY, default_rules())[0] == second  # replay


def _rule(rule_id, when=Conditions(), *actions):
    return ActivityRule(rule_id, when, tuple(actions))


def test_templates_links_and_several_activities_per_rule():
    """Subject/body templates render; link flags drop links; email thread URL templated."""
    recording = RecordingAvailable(eid(), "acme", T0 + timedelta(hours=1), "ix-1", "voice",
                                   "https://r")
    events = [*voice_call("ix-1"), recording]
    action = ActivityAction(
        "call",
        subject=Template.of("{direction} call, {queue}: {disposition} ({duration})"),
        body=Template.of("Agent {agent_name} ({agent_id})\nTopics: {topics}\nRec: {recording_url}"),
        link_recording=False,
    )
    task = ActivityAction("task", subject=Template.of("Follow up {interaction_id}"),
                          email_thread_url=Template.of("https://mail.test/t/{interaction_id}"))
    rules = RuleSet(default=(_rule("r1", Conditions(), action, task),))
    call, follow = activities_for(_entry(events), PARTY, rules)
    assert call.subject == "inbound call, Sales: SALE (1m 35s)"
    assert call.body == "Agent Ada (agent-1)"
    assert call.recording_url is None
    assert (call.rule_id, follow.rule_id) == ("r1", "r1")
    assert follow.idempotency_key == "acme:ix-1:default:task"
    assert follow.subject == "Follow up ix-1"
    assert follow.email_thread_url == "https://mail.test/t/ix-1"
    assert follow.recording_url == "https://r"


def test_first_matching_rule_owns_each_crm_and_kind():
    """Two rules creating a call for one CRM: the first match wins; another CRM is separate."""
    rules = RuleSet(default=(
        _rule("sales", Conditions(queues=frozenset({"Sales"})),
              ActivityAction("call", subject=Template.of("Sales call"))),
        _rule("all", Conditions(), ActivityAction("call", subject=Template.of("Any call")),
              ActivityAction("call", crm="hubspot")),
        _rule("never", Conditions(channels=frozenset({"email"})), ActivityAction("email")),
    ))
    found = activities_for(_call(), PARTY, rules)
    assert [(a.subject, a.crm, a.rule_id, a.idempotency_key) for a in found] == [
        ("Sales call", None, "sales", "acme:ix-1:default:call"),
        ("SALE", "hubspot", "all", "acme:ix-1:hubspot:call"),
    ]


def test_tenants_have_their_own_rules_and_others_use_the_default():
    """A tenant's list replaces the default; an empty list turns automation off."""
    rules = RuleSet(default=default_rules().default, tenants={"acme": (), "beta": (
        _rule("chats", Conditions(channels=frozenset({"voice"})), ActivityAction("note")),)})
    acme = _call()
    assert activities_for(acme, PARTY, rules) == []
    beta = _entry(voice_call("ix-2", tenant="beta"))
    assert [a.kind for a in activities_for(beta, PARTY, rules)] == ["note"]
    other = _entry(voice_call("ix-3", tenant="zeta"))
    assert [a.kind for a in activities_for(other, PARTY, rules)] == ["call"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{nope}", "unknown placeholder {nope}"),
        ("{title.upper}", "unknown placeholder {title.upper}"),
        ("{}", "unknown placeholder {}"),
        ("{title:>10}", "takes no format spec"),
        ("{title!r}", "takes no format spec"),
        ("{title", "malformed template"),
    ],
)
def test_bad_templates_fail_when_built(text, problem):
    """Unknown placeholders, attribute access, format specs: errors at load, not at runtime."""
    with pytest.raises(RuleError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        Template.of(text)


def test_literal_braces_and_values_with_braces_render_safely():
    """Doubled braces are literal; a value containing braces is not re-interpreted."""
    rendered = Template.of("{{json}} {notes}").render({"notes": "{title} {0}"})
    assert rendered == "{json} {title} {0}"


@pytest.mark.parametrize(
    ("action", "kind", "subject"),
    [
        ("add_note", "note", "Wants a callback"),
        ("add_task", "task", "Wants a callback"),
        ("add_call", "call", "Wants a callback"),
        ("add_event", "event", "Wants a callback"),
        ("open_profile", None, None),
        ("link_record", None, None),
    ],
)
def test_manual_activities_from_desktop_actions(action, kind, subject):
    """add_note/add_task/add_call/add_event -> one activity each, keyed by the action."""
    entry = _call()
    record = DesktopActionTaken(eid(), "acme", T0 + timedelta(minutes=1), "agent-1", "ix-1",
                                action, text="Wants a callback\non Tuesday", profile_id="p-1")
    activity = manual_activity_for(record, PARTY, entry)
    if kind is None:
        assert activity is None
        return
    assert activity is not None
    assert (activity.kind, activity.subject) == (kind, subject)
    assert activity.body == "Wants a callback\non Tuesday"
    assert activity.idempotency_key == f"acme:ix-1:default:{kind}~{record.event_id}"
    assert kind_of_key(activity.idempotency_key) == kind
    assert activity.customer_phone == CALLER
    assert activity.profile_id == "p-1"
    assert (activity.duration_seconds is not None) is (kind == "call")
    again = manual_activity_for(record, PARTY, entry)
    assert again == activity  # replay: same id, same key
    other = manual_activity_for(replace(record, event_id=eid()), PARTY, entry)
    assert other is not None and other.idempotency_key != activity.idempotency_key


def test_manual_activity_without_party_or_text_still_flows():
    """An interaction c360 never saw: no contact fields; an empty note gets a default subject."""
    record = DesktopActionTaken(eid(), "acme", T0, "agent-1", "ix-unknown", "add_note")
    activity = manual_activity_for(record, None, None)
    assert activity is not None
    assert (activity.subject, activity.body, activity.customer_phone) == ("Note", "", None)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("acme:ix-1:default:call", "call"),
        ("acme:ix:with:colons:hubspot:email", "email"),
        (manual_key("acme", "ix-1", "zoho", "task", "e-1"), "task"),
        ("acme:ix-1:default:bogus", None),
    ],
)
def test_the_kind_is_read_back_from_the_key(key, kind):
    """Related records read the activity kind from the idempotency key's last segment."""
    assert kind_of_key(key) == kind


def test_a_crm_hint_from_the_routing_plan_travels_with_the_activity():
    """The routing plan's record hint rides along so the sink can skip contact search."""
    from schemas.records import CrmRecordHint  # noqa: PLC0415

    events = voice_call("ix-1")
    events[0] = replace(events[0], crm_record_hint=CrmRecordHint("hubspot", "contact", "42"),
                        from_address=CALLER, to_address=CENTRE)
    activity = activities_for(_entry(events), PARTY, default_rules())[0]
    assert activity.crm_record_hint == CrmRecordHint("hubspot", "contact", "42")
