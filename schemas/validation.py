"""Plausibility of canonical records at the edge: time range, durations, sizes (pure)."""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import records
from schemas.errors import SchemaError

# Why: the wire formats accept anything their types can hold (a timestamp-millis of year 1,
# a duration of -500000 s, a 10 MB agent name), and the stored entry cannot: its varints
# are unsigned from 1970 on, so `c360 publish` of a 0001-01-01 event crashed three agents
# (projections/entry_bytes.py `uint`, "byte must be in range(0, 256)"), and a lone surrogate
# crashed them in `str.encode`. `validate` is the one definition of "plausible" that every
# edge applies (publish, ingest, the normalize stage); anything it passes is an entry the
# codec can store (property-tested across the whole schema, tests/unit/schemas/).
# Messages name the record and field and, for times and numbers, the value; they never
# quote a string, so no phone number, email or note leaks into errors, logs or dead letters.


class ImplausibleValue(SchemaError):
    """A record whose field is outside the plausible range; `field` names it
    (e.g. "PartyInteraction.event.occurred_at")."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Limits:
    """What counts as plausible. Times: from `earliest` to the validation's `now` plus
    `max_ahead` (clock skew of producers). Lengths in characters, per kind of field."""

    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_ahead: timedelta = timedelta(days=1)
    max_duration_seconds: int = 7 * 24 * 3600
    id_chars: int = 256  # event, tenant, interaction, agent, leg, profile ids; tokens
    address_chars: int = 512  # phone numbers, emails, SIP URIs (an identifier's own cap)
    label_chars: int = 256  # channel, queue, campaign, disposition, names, IVR steps, topics
    text_chars: int = 4_096  # subject, title, reasons
    url_chars: int = 4_096
    value_chars: int = 32_768  # one routing-data / profile attribute value
    long_text_chars: int = 100_000  # notes, summaries, activity bodies, error texts
    document_chars: int = 1_048_576  # transcripts, rendered pop views: the payload limit
    list_items: int = 256  # IVR path, topics, phones, emails, candidates
    map_items: int = 256  # routing data, profile attributes


LIMITS = Limits()

_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ("event_id", "tenant_id", "interaction_id", "agent_id", "leg_id", "from_agent_id",
         "to_agent_id", "trigger_event_id", "party_token", "profile_id", "record_id",
         "idempotency_key", "crm_activity_id", "crm_contact_id", "rule_id", "crm",
         "object_type", "normalizer_version", "requested_by", "topic"),
        "id_chars",
    ),
    **dict.fromkeys(
        ("from_address", "to_address", "customer_address", "party_value", "customer_phone",
         "customer_email", "phones", "emails"),
        "address_chars",
    ),
    **dict.fromkeys(
        ("channel", "direction", "stage", "queue", "to_queue", "mode", "end_reason",
         "disposition_code", "outcome", "campaign", "contact_mode", "sentiment_label",
         "source", "party_kind", "match_status", "matched_identifier_kind", "kind", "status",
         "action", "error_type", "agent_name", "display_name", "ivr_path", "topics"),
        "label_chars",
    ),
    **dict.fromkeys(("subject", "ai_title", "reason", "suppression_reason"), "text_chars"),
    **dict.fromkeys(
        ("transcript_url", "recording_url", "record_url", "email_thread_url"), "url_chars"
    ),
    **dict.fromkeys(("notes", "summary", "body", "text", "error", "error_message"),
                    "long_text_chars"),
    **dict.fromkeys(("transcript_text", "view_json"), "document_chars"),
}
_DURATIONS = frozenset({"duration_seconds"})
_UNIT_INTERVAL = frozenset({"sentiment"})  # -1.0 .. 1.0
_LONG = (-(2**63), 2**63 - 1)
_NONE = type(None)
_CLASSES = frozenset(records.ALL_RECORD_TYPES)


@dataclass(frozen=True, slots=True)
class _Bounds:
    limits: Limits
    earliest: datetime
    latest: datetime


class _Bad(Exception):  # internal: becomes ImplausibleValue with the full path
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = ""  # filled in while unwinding: ".event.ivr_path[3]"


Check = Callable[[Any, _Bounds], None]


def validate(record: Any, limits: Limits = LIMITS, *, now: datetime | None = None) -> None:
    """Raise ImplausibleValue naming the first field of `record` (any c360 record; nested
    records such as PartyInteraction.event included) that is outside `limits`: a time
    before `limits.earliest` or after `now` (default: the wall clock) + `limits.max_ahead`,
    a negative or over-long duration, a non-finite float or a sentiment outside -1..1, a
    string over its kind's length or not valid Unicode, a list or map with too many items,
    a value of the wrong type. Returns None for a plausible record."""
    moment = _aware(now) if now is not None else datetime.now(tz=UTC)
    bounds = _Bounds(limits, _aware(limits.earliest), moment + limits.max_ahead)
    cls: Any = type(record)
    if cls not in _CLASSES:
        raise ImplausibleValue(cls.__name__, "is not a c360 record")
    try:
        _record_check(cls)(record, bounds)
    except _Bad as bad:
        raise ImplausibleValue(cls.__name__ + bad.where, bad.problem) from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@functools.cache
def _record_check(cls: Any) -> Check:
    hints = typing.get_type_hints(cls, vars(records))
    fields = tuple(
        (f.name, *_check_of(f.name, hints[f.name])) for f in dataclasses.fields(cls)
    )

    def check(value: Any, bounds: _Bounds) -> None:
        if type(value) is not cls:
            raise _Bad(f"must be a {cls.__name__}")
        for name, field_check, nullable in fields:
            item = getattr(value, name)
            if item is None and nullable:
                continue
            try:
                field_check(item, bounds)
            except _Bad as bad:
                bad.where = f".{name}{bad.where}"
                raise

    return check


def _check_of(name: str, tp: Any) -> tuple[Check, bool]:
    """The check of one field, from its type hint and (for strings, ints) its name, and
    whether None is allowed."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not _NONE]
        nullable = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return _check_of(name, args[0])[0], nullable
        return _one_of({a: _check_of(name, a)[0] for a in args}), nullable
    if tp is str:
        return _text(_KINDS.get(name, "text_chars")), False
    if tp is bool:
        return _typed(bool, "bool"), False
    if tp is int:
        return (_duration if name in _DURATIONS else _long), False
    if tp is float:
        return (_unit if name in _UNIT_INTERVAL else _finite), False
    if tp is datetime:
        return _time, False
    if tp is bytes:
        return _typed(bytes, "bytes"), False  # bounded by the payload limit, not by meaning
    origin = typing.get_origin(tp)
    if origin is tuple:
        return _items(_check_of(name, typing.get_args(tp)[0])[0]), False
    if origin is dict:
        return _mapping, False
    if tp in _CLASSES:
        return _record_check(tp), False
    msg = f"no plausibility check for {name}: {tp!r}"  # a new field type: add its check
    raise TypeError(msg)


def _one_of(by_class: dict[Any, Check]) -> Check:
    def check(value: Any, bounds: _Bounds) -> None:  # PartyInteraction.event
        member = by_class.get(type(value))
        if member is None:
            raise _Bad(f"cannot be a {type(value).__name__}")
        member(value, bounds)

    return check


def _typed(cls: type, label: str) -> Check:
    def check(value: Any, bounds: _Bounds) -> None:
        if not isinstance(value, cls):
            raise _Bad(f"must be {label}, got {type(value).__name__}")

    return check


def _text(kind: str) -> Check:
    def check(value: Any, bounds: _Bounds) -> None:
        if not isinstance(value, str):
            raise _Bad(f"must be str, got {type(value).__name__}")
        cap: int = getattr(bounds.limits, kind)
        if len(value) > cap:
            raise _Bad(f"has {len(value)} characters, over the {cap} limit")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _Bad("is not valid Unicode (lone surrogate)") from None

    return check


def _long(value: Any, bounds: _Bounds) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(f"must be int, got {type(value).__name__}")
    if not _LONG[0] <= value <= _LONG[1]:
        raise _Bad("is out of the 64-bit range")


def _duration(value: Any, bounds: _Bounds) -> None:
    _long(value, bounds)
    cap = bounds.limits.max_duration_seconds
    if not 0 <= value <= cap:
        raise _Bad(f"is {value} s, outside 0 .. {cap} s")


def _finite(value: Any, bounds: _Bounds) -> None:
    if not isinstance(value, float | int) or isinstance(value, bool):
        raise _Bad(f"must be float, got {type(value).__name__}")
    if not math.isfinite(value):
        raise _Bad(f"is {value}, not a finite number")


def _unit(value: Any, bounds: _Bounds) -> None:
    _finite(value, bounds)
    if not -1.0 <= value <= 1.0:
        raise _Bad(f"is {value}, outside -1.0 .. 1.0")


def _time(value: Any, bounds: _Bounds) -> None:
    if not isinstance(value, datetime):
        raise _Bad(f"must be a datetime, got {type(value).__name__}")
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not bounds.earliest <= moment <= bounds.latest:
        raise _Bad(
            f"is {_iso(moment)}, outside the plausible range "
            f"{_iso(bounds.earliest)} .. {_iso(bounds.latest)}"
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _items(item: Check) -> Check:
    def check(value: Any, bounds: _Bounds) -> None:
        if not isinstance(value, tuple | list):
            raise _Bad(f"must be a list, got {type(value).__name__}")
        cap = bounds.limits.list_items
        if len(value) > cap:
            raise _Bad(f"has {len(value)} items, over the {cap} limit")
        for i, element in enumerate(value):
            try:
                item(element, bounds)
            except _Bad as bad:
                bad.where = f"[{i}]{bad.where}"
                raise

    return check


_KEY, _VALUE = _text("label_chars"), _text("value_chars")


def _mapping(value: Any, bounds: _Bounds) -> None:
    if not isinstance(value, dict):
        raise _Bad(f"must be a map, got {type(value).__name__}")
    cap = bounds.limits.map_items
    if len(value) > cap:
        raise _Bad(f"has {len(value)} entries, over the {cap} limit")
    for i, (key, item) in enumerate(value.items()):
        for part, check in ((key, _KEY), (item, _VALUE)):
            try:
                check(part, bounds)
            except _Bad as bad:  # keys can be caller data: name entries by position
                bad.where = f" entry #{i} {'key' if part is key else 'value'}"
                raise
