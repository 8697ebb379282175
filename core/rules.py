"""Pure automation rules: which activities an interaction entry calls for at wrap-up, or when
it was missed, abandoned, left a voicemail or ended without an agent (core/triggers.py)."""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.ports import Party
from core.timeline import InteractionEntry, from_ms
from core.triggers import DEFAULT_ON, default_subject, trigger_of, wait_seconds_of
from core.view import direction_of, duration_of, queue_of, title_of
from schemas.records import ActivityRequested, CrmRecordHint

# Output event ids are uuid5 of what caused them, so a replay produces the same ids and the
# idempotency key is stable per (interaction, CRM, kind): a later wrap-up is a new revision
# of the same activity, never a second one.
_NS = uuid.UUID("9b1c1f0e-6a53-4f7e-9d0c-3a0f4b8c3601")
KINDS = ("call", "chat", "email", "note", "task", "event")
# What a subject/body/link template may name; anything else is a config error at load.
FIELDS = frozenset({
    "tenant", "interaction_id", "channel", "direction", "duration_seconds", "duration",
    "disposition", "outcome", "queue", "agent_id", "agent_name", "notes", "title",
    "subject", "summary", "sentiment", "topics", "campaign", "started_at",
    "recording_url", "transcript_url", "email_thread_url", "kind", "rule_id",
    "trigger", "end_reason", "wait_seconds", "wait",
})  # fmt: skip
_DEFAULT_SUBJECT = "default subject"
DEFAULT_BODY = "{notes}\nDisposition: {disposition}\nRecording: {recording_url}\n" + (
    "Transcript: {transcript_url}"
)


class RuleError(ValueError):
    """A rule or template is invalid (raised at load time, never while evaluating)."""


@dataclass(frozen=True, slots=True)
class Template:
    """A `{placeholder}` template, checked against FIELDS when built.

    A line whose placeholders all render empty is dropped, so "Recording: {recording_url}"
    disappears when there is no recording instead of leaving a dangling label.
    """

    text: str
    _lines: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, text: str) -> Template:
        """Parse and validate; raises RuleError naming the bad placeholder."""
        lines = []
        for line in text.split("\n"):
            try:
                parts = list(string.Formatter().parse(line))
            except ValueError as exc:
                raise RuleError(f"malformed template {text!r}: {exc}") from exc
            names = []
            for _literal, name, spec, conversion in parts:
                if name is None:
                    continue
                if name not in FIELDS:
                    known = ", ".join(sorted(FIELDS))
                    raise RuleError(f"unknown placeholder {{{name}}} (known: {known})")
                if spec or conversion:
                    raise RuleError(f"placeholder {{{name}}} takes no format spec or conversion")
                names.append(name)
            lines.append((line, tuple(names)))
        return cls(text, tuple(lines))

    def render(self, values: Mapping[str, str]) -> str:
        """Fill in the placeholders (every value is a string; missing ones render empty)."""
        out = []
        for line, names in self._lines:
            if names and not any(values.get(n) for n in names):
                continue
            out.append(line.format_map({n: values.get(n, "") for n in names}))
        return "\n".join(out).strip("\n")


@dataclass(frozen=True, slots=True)
class Conditions:
    """When a rule applies; an empty set means "any". Text matches ignore case."""

    channels: frozenset[str] = frozenset()
    directions: frozenset[str] = frozenset()
    min_duration_seconds: int | None = None
    max_duration_seconds: int | None = None
    dispositions: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    outcomes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ActivityAction:
    """One activity a rule creates: kind, templates, target CRM (None = the selected one).

    No subject template = the trigger's default subject (core.triggers.default_subject;
    the timeline title at wrap-up)."""

    kind: str
    subject: Template | None = None
    body: Template = field(default_factory=lambda: Template.of(DEFAULT_BODY))
    crm: str | None = None
    email_thread_url: Template | None = None
    link_recording: bool = True
    link_transcript: bool = True


@dataclass(frozen=True, slots=True)
class ActivityRule:
    """Conditions over the interaction at one of the `on` triggers -> the activities."""

    rule_id: str
    when: Conditions
    actions: tuple[ActivityAction, ...]
    on: frozenset[str] = DEFAULT_ON  # core.triggers.TRIGGERS


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules per tenant; a tenant without its own list uses `default` (ordered lists)."""

    default: tuple[ActivityRule, ...]
    tenants: Mapping[str, tuple[ActivityRule, ...]] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> tuple[ActivityRule, ...]:
        """The tenant's rules."""
        return self.tenants.get(tenant_id, self.default)


@dataclass(frozen=True, slots=True)
class CallActivityRule:
    """Voice interaction ended with duration >= min_seconds -> call activity at wrap-up."""

    rule_id: str = "voice-call-min-duration"
    min_seconds: int = 10

    def as_rule(self) -> ActivityRule:
        """The same rule in the general form (the built-in default of every tenant)."""
        when = Conditions(channels=frozenset({"voice"}), min_duration_seconds=self.min_seconds)
        return ActivityRule(self.rule_id, when, (ActivityAction("call"),))


def default_rules(min_call_seconds: int = 10) -> RuleSet:
    """The rule set when no rules file is configured: the call rule for every tenant."""
    return RuleSet(default=(CallActivityRule(min_seconds=min_call_seconds).as_rule(),))


def idempotency_key(tenant_id: str, interaction_id: str, crm: str | None, kind: str) -> str:
    """The key the CRM sink upserts by (stable across retries, replays and re-wrap-ups)."""
    return f"{tenant_id}:{interaction_id}:{crm or 'default'}:{kind}"


def manual_key(
    tenant_id: str, interaction_id: str, crm: str | None, kind: str, action_id: str
) -> str:
    """The key of a manual activity: one per desktop action (an agent may add two notes)."""
    return f"{idempotency_key(tenant_id, interaction_id, crm, kind)}~{action_id}"


def kind_of_key(key: str) -> str | None:
    """The activity kind an idempotency key names (`...:<kind>` or `...:<kind>~<action>`)."""
    kind = key.rsplit(":", 1)[-1].split("~", 1)[0]
    return kind if kind in KINDS else None


def _in(value: str | None, allowed: frozenset[str]) -> bool:
    if not allowed:
        return True
    return value is not None and value.casefold() in {a.casefold() for a in allowed}


def matches(entry: InteractionEntry, when: Conditions) -> bool:
    """Whether an entry meets the conditions (a missing value never matches a
    non-empty set, and an unknown duration never meets a duration bound)."""
    wrap = entry.wrapup
    duration = duration_of(entry)
    if when.min_duration_seconds is not None and (
        duration is None or duration < when.min_duration_seconds
    ):
        return False
    if when.max_duration_seconds is not None and (
        duration is None or duration > when.max_duration_seconds
    ):
        return False
    return (
        _in(entry.channel, when.channels)
        and _in(direction_of(entry), when.directions)
        and _in(wrap.disposition_code if wrap else None, when.dispositions)
        and _in(queue_of(entry), when.queues)
        and _in(wrap.outcome if wrap else None, when.outcomes)
    )


def _human(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def template_values(entry: InteractionEntry) -> dict[str, str]:
    """Every FIELDS value of an entry, rendered as text ('' when unknown)."""
    wrap, analysis, offer = entry.wrapup, entry.analysis, entry.offer
    duration = duration_of(entry)
    agent_name = wrap.agent_name if wrap and wrap.agent_name else None
    wait = wait_seconds_of(entry)
    trigger = trigger_of(entry)
    values = {
        "tenant": entry.tenant_id,
        "interaction_id": entry.interaction_id,
        "channel": entry.channel,
        "direction": direction_of(entry) or "",
        "duration_seconds": "" if duration is None else str(duration),
        "duration": _human(duration),
        "disposition": (wrap.disposition_code if wrap else None) or "",
        "outcome": (wrap.outcome if wrap else None) or "",
        "queue": queue_of(entry) or "",
        "agent_id": wrap.agent_id if wrap else "",
        "agent_name": agent_name or next((g.agent_name for g in entry.legs if g.agent_name), "")
        or "",
        "notes": (wrap.notes if wrap else None) or "",
        "title": title_of(entry),
        "subject": (offer.subject if offer else None) or "",
        "summary": (analysis.summary if analysis else None) or "",
        "sentiment": (analysis.sentiment_label if analysis else None) or "",
        "topics": ", ".join(analysis.topics) if analysis else "",
        "campaign": (wrap.campaign if wrap else None) or (offer.campaign if offer else None)
        or "",
        "started_at": from_ms(entry.started_ms).isoformat(),
        "recording_url": entry.recording.url if entry.recording else "",
        "transcript_url": (analysis.transcript_url if analysis else None) or "",
        "trigger": trigger or "",
        "end_reason": (entry.ending.end_reason if entry.ending else None) or "",
        "wait_seconds": "" if wait is None else str(wait),
        "wait": _human(wait),
    }
    # Not a placeholder (templates cannot name it): the subject when the rule gives none.
    values[_DEFAULT_SUBJECT] = default_subject(trigger, entry, values["wait"]) or ""
    return values


def _hint(entry: InteractionEntry) -> CrmRecordHint | None:
    if entry.hinted is None:
        return None
    crm, object_type, record_id = entry.hinted.hint.split(":", 2)
    return CrmRecordHint(crm, object_type, record_id)


def _activity(
    entry: InteractionEntry, party: Party, rule_id: str, action: ActivityAction,
    values: dict[str, str],
) -> ActivityRequested:
    key = idempotency_key(entry.tenant_id, entry.interaction_id, action.crm, action.kind)
    values = {**values, "kind": action.kind, "rule_id": rule_id}
    thread = action.email_thread_url.render(values) if action.email_thread_url else ""
    values["email_thread_url"] = thread
    if not action.link_recording:
        values["recording_url"] = ""
    if not action.link_transcript:
        values["transcript_url"] = ""
    wrap = entry.wrapup
    return ActivityRequested(
        event_id=str(uuid.uuid5(_NS, f"{key}:{entry.last_ms}")),
        tenant_id=entry.tenant_id,
        occurred_at=from_ms(entry.last_ms),
        interaction_id=entry.interaction_id,
        idempotency_key=key,
        kind=action.kind,
        # The latest event time: a later wrap-up or a late recording/transcript is a
        # higher revision of the same activity, which the sink applies as an update.
        revision=entry.last_ms,
        subject=(action.subject.render(values) if action.subject else values[_DEFAULT_SUBJECT])
        or title_of(entry),
        body=action.body.render(values),
        crm=action.crm,
        agent_id=wrap.agent_id if wrap else None,
        channel=entry.channel,
        direction=direction_of(entry),
        started_at=from_ms(entry.started_ms),
        duration_seconds=duration_of(entry),
        disposition_code=wrap.disposition_code if wrap else None,
        party_token=party.token,
        customer_phone=party.value if party.kind == "phone" else None,
        customer_email=party.value if party.kind == "email" else None,
        crm_record_hint=_hint(entry),
        recording_url=values["recording_url"] or None,
        transcript_url=values["transcript_url"] or None,
        email_thread_url=thread or None,
        rule_id=rule_id,
    )


def activities_for(
    entry: InteractionEntry, party: Party, rules: RuleSet
) -> list[ActivityRequested]:
    """The activities the tenant's rules ask for at the entry's trigger (core.triggers:
    wrap-up, missed, abandoned, voicemail, parked); rules fire whose `on` names it.

    Rules are tried in order; the first rule that creates a given (CRM, kind) owns it, so
    one interaction never gets two activities under one idempotency key.
    """
    trigger = trigger_of(entry)
    if trigger is None:
        return []
    values = template_values(entry)
    out: dict[tuple[str | None, str], ActivityRequested] = {}
    for rule in rules.for_tenant(entry.tenant_id):
        if trigger not in rule.on or not matches(entry, rule.when):
            continue
        for action in rule.actions:
            if (action.crm, action.kind) not in out:
                out[action.crm, action.kind] = _activity(entry, party, rule.rule_id, action,
                                                         values)
    return list(out.values())


def call_activity_for(
    entry: InteractionEntry, party: Party, rule: CallActivityRule
) -> ActivityRequested | None:
    """The call activity the built-in rule asks for, or None (not voice, not ended, too
    short, or not wrapped up yet)."""
    found = activities_for(entry, party, RuleSet(default=(rule.as_rule(),)))
    return found[0] if found else None
