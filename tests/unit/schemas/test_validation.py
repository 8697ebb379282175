"""validate(): implausible records are refused by field, and what passes always stores."""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.timeline import entry_of, fold
from projections import entry_codec
from schemas import records
from schemas.errors import C360Error, SchemaError
from schemas.records import (
    INTERACTION_EVENT_TYPES,
    InteractionAnalyzed,
    InteractionEnded,
    InteractionEvent,
    InteractionOffered,
    PartyInteraction,
)
from schemas.validation import ImplausibleValue, Limits, validate
from tests.factories import CALLER, voice_call
from tests.unit.schemas import strategies

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CALL = voice_call("ix-valid", start=NOW - timedelta(hours=1))
OFFER, ENDED = _CALL[0], _CALL[3]
assert isinstance(OFFER, InteractionOffered) and isinstance(ENDED, InteractionEnded)


def _refused(record: Any, limits: Limits | None = None) -> ImplausibleValue:
    with pytest.raises(ImplausibleValue) as info:
        validate(record, limits or Limits(), now=NOW)
    return info.value


def test_a_plausible_call_passes() -> None:
    """Every event of an ordinary call, and its by-party wrapper, is plausible."""
    for event in _CALL:
        validate(event, now=NOW)
        validate(_party(event), now=NOW)


def test_the_error_is_a_schema_error_naming_the_field() -> None:
    """ImplausibleValue is a SchemaError (C360Error): every edge already dead-letters or
    refuses those; `field` is the record-qualified path."""
    err = _refused(dataclasses.replace(ENDED, occurred_at=datetime(1, 1, 1, tzinfo=UTC)))
    assert isinstance(err, SchemaError) and isinstance(err, C360Error)
    assert err.field == "InteractionEnded.occurred_at"
    assert str(err).startswith("InteractionEnded.occurred_at is 0001-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": datetime(1, 1, 1, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(1969, 12, 31, 23, 59, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(9999, 12, 31, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": NOW + timedelta(days=1, seconds=1)}, "occurred_at"),
        ({"started_at": datetime(1, 1, 1, tzinfo=UTC)}, "started_at"),
        ({"duration_seconds": -500_000}, "duration_seconds"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"duration_seconds": 7 * 24 * 3600 + 1}, "duration_seconds"),
        ({"interaction_id": "x" * 257}, "interaction_id"),
        ({"tenant_id": "t" * 257}, "tenant_id"),
        ({"from_address": "1" * 513}, "from_address"),
        ({"end_reason": "r" * 257}, "end_reason"),
        ({"agent_id": "bad\udc80"}, "agent_id"),
    ],
)
def test_implausible_values_are_refused_by_field(change: dict[str, Any], field: str) -> None:
    """Times outside 2000-01-01 .. now + 1 day, negative or week-long durations, over-long
    ids/addresses/labels and lone surrogates are refused, naming the field."""
    err = _refused(dataclasses.replace(ENDED, **change))
    assert err.field == f"InteractionEnded.{field}"


def test_the_bounds_are_inclusive() -> None:
    """The range ends themselves are plausible (2000-01-01, now + 1 day, 0 s, 7 days)."""
    for change in (
        {"occurred_at": datetime(2000, 1, 1, tzinfo=UTC), "started_at": None},
        {"occurred_at": NOW + timedelta(days=1)},
        {"duration_seconds": 0},
        {"duration_seconds": 7 * 24 * 3600},
    ):
        validate(dataclasses.replace(ENDED, **change), now=NOW)


def test_messages_never_quote_an_address_or_text() -> None:
    """Addresses, notes and other strings are named and measured, never echoed."""
    long_caller = CALLER * 100
    err = _refused(dataclasses.replace(OFFER, customer_address=long_caller))
    assert CALLER not in str(err) and err.field == "InteractionOffered.customer_address"
    err = _refused(dataclasses.replace(OFFER, routing_data={CALLER + "x" * 300: "v"}))
    assert CALLER not in str(err)
    assert err.field == "InteractionOffered.routing_data entry #0 key"


def test_nested_records_are_checked_with_their_path() -> None:
    """PartyInteraction.event and the CRM record hint are validated too."""
    bad = dataclasses.replace(ENDED, duration_seconds=-5)
    assert _refused(_party(bad)).field == "PartyInteraction.event.duration_seconds"
    hint = records.CrmRecordHint("sf", "Case", "9" * 300)
    offer = dataclasses.replace(OFFER, crm_record_hint=hint)
    assert _refused(offer).field == "InteractionOffered.crm_record_hint.record_id"
    too_many = dataclasses.replace(OFFER, ivr_path=("menu",) * 257)
    assert _refused(too_many).field == "InteractionOffered.ivr_path"
    long_step = dataclasses.replace(OFFER, ivr_path=("menu", "m" * 300))
    assert _refused(long_step).field == "InteractionOffered.ivr_path[1]"


def test_floats_are_finite_and_sentiment_is_within_minus_one_to_one() -> None:
    """NaN/infinity anywhere, and a sentiment outside -1..1, are refused."""
    base = InteractionAnalyzed("e1", "acme", NOW, "ix-1", "voice", sentiment=0.5)
    validate(base, now=NOW)
    for value in (float("nan"), float("inf"), 1.5, -1.01):
        assert _refused(dataclasses.replace(base, sentiment=value)).field.endswith(
            "sentiment"
        )
    wrap = _CALL[4]
    assert _refused(dataclasses.replace(wrap, score=float("nan"))).field.endswith("score")


def test_limits_are_configurable() -> None:
    """A frozen Limits object moves every bound; `now` anchors the future bound."""
    old = dataclasses.replace(ENDED, occurred_at=datetime(1995, 1, 1, tzinfo=UTC), started_at=None)
    validate(old, Limits(earliest=datetime(1990, 1, 1, tzinfo=UTC)), now=NOW)
    long_call = dataclasses.replace(ENDED, duration_seconds=10 * 24 * 3600)
    validate(long_call, Limits(max_duration_seconds=30 * 24 * 3600), now=NOW)
    ahead = dataclasses.replace(ENDED, occurred_at=NOW + timedelta(hours=2))
    assert _refused(ahead, Limits(max_ahead=timedelta(hours=1))).field.endswith("occurred_at")
    validate(ahead, now=NOW)


def test_wrong_types_are_refused_not_crashed_on() -> None:
    """A translator bug (an int where a str belongs, a naive/foreign object) is refused."""
    assert _refused(dataclasses.replace(ENDED, interaction_id=42)).field.endswith(  # type: ignore[arg-type]
        "interaction_id"
    )
    assert _refused(dataclasses.replace(ENDED, duration_seconds=True)).field.endswith(
        "duration_seconds"
    )
    assert _refused(object()).field == "object"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": datetime(1, 1, 1, tzinfo=UTC)}, "occurred_at"),
        ({"occurred_at": datetime(1969, 7, 20, 20, 17, tzinfo=UTC)}, "occurred_at"),
        ({"started_at": datetime(1960, 1, 1, tzinfo=UTC)}, "started_at"),
        ({"end_reason": "hang\ud800up"}, "end_reason"),
        ({"event_id": "\udfff"}, "event_id"),
    ],
)
def test_every_value_that_breaks_the_entry_encoding_is_refused(
    change: dict[str, Any], field: str
) -> None:
    """The values that crashed the agents ("byte must be in range(0, 256)" for times before
    1970, UnicodeEncodeError for lone surrogates) do break the encoding, and are refused."""
    bad = dataclasses.replace(ENDED, **change)
    with pytest.raises((ValueError, UnicodeEncodeError)):
        entry_codec.dumps(entry_of(bad))
    assert _refused(bad).field == f"InteractionEnded.{field}"


# --- property: whatever passes validate stores -------------------------------------------

# Hypothesis never draws lone surrogates into text, so they are spliced in explicitly.
_SURROGATE = st.sampled_from(["", "", "", "", "", "", "", "\ud800", "\udc80", "\udfff"])
_TEXTS = st.one_of(
    st.tuples(st.text(max_size=8), _SURROGATE, st.text(max_size=4)).map("".join),
    st.sampled_from(["", "voice", "inbound", "positive", "ix-prop-1", "ix-prop-1/leg"]),
    st.uuids().map(str),
    st.binary(min_size=1, max_size=8).map(bytes.hex),  # the codec's HEX texts
    st.text(st.sampled_from("ab/:."), min_size=9, max_size=30).map(lambda s: "https://" + s),
)
_PLAUSIBLE_MS = (946_684_800_000, int((NOW + timedelta(days=1)).timestamp() * 1000))
_PLAUSIBLE_TIMES = st.integers(*_PLAUSIBLE_MS).map(lambda ms: _EPOCH + timedelta(milliseconds=ms))
_TIMES = st.sampled_from(range(10)).flatmap(  # mostly plausible, so most records get through
    lambda n: _PLAUSIBLE_TIMES if n > 2 else [
        strategies.timestamps,  # years 1 .. 9999
        st.integers(-10**12, 10**12).map(lambda ms: _EPOCH + timedelta(milliseconds=ms)),
        st.sampled_from([datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), _EPOCH]),
    ][n]
)
_INTS = st.sampled_from(range(5)).flatmap(
    lambda n: [st.integers(-(2**63), 2**63 - 1), st.integers(-10, 10)][n]
    if n < 2 else st.integers(0, 8 * 24 * 3600)
)
_FLOATS = st.one_of(st.floats(), st.floats(-1.5, 1.5), st.sampled_from([0.6, -0.25, 1.0]))


def _for(tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return st.one_of(*[_for(a) for a in typing.get_args(tp)])
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(), str: _TEXTS, int: _INTS, float: _FLOATS, bool: st.booleans(),
        bytes: st.binary(max_size=8), datetime: _TIMES,
    }
    if tp in simple:
        return simple[tp]
    if origin is tuple:
        return st.lists(_for(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(_TEXTS, _TEXTS, max_size=2)
    return _record(tp)


def _record(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls, vars(records))
    return st.builds(cls, **{f.name: _for(hints[f.name]) for f in dataclasses.fields(cls)})


_EVENTS = st.one_of(*[_record(cls) for cls in INTERACTION_EVENT_TYPES])


def _plausible(record: Any) -> bool:
    try:
        validate(record, now=NOW)
    except ImplausibleValue:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=_EVENTS)
def test_every_plausible_event_encodes_as_a_stored_entry(event: InteractionEvent) -> None:
    """Across the whole interaction schema (wild times, surrogates, huge and negative ints,
    NaN): if validate passes, the entry encodes, decodes to itself, and so does the
    by-party record wrapping it."""
    if not _plausible(event):
        return
    entry = entry_of(event)
    assert entry_codec.loads(entry_codec.dumps(entry)) == entry
    assert _plausible(_party(event))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_EVENTS, min_size=2, max_size=4))
def test_merged_plausible_events_encode(events: list[InteractionEvent]) -> None:
    """The stored entry is a merge of many events: merges of plausible ones encode too."""
    same = [dataclasses.replace(e, tenant_id="acme", interaction_id="ix-prop-1")
            for e in events]
    plausible = [e for e in same if _plausible(e)]
    for entry in fold(plausible).values():  # type: ignore[arg-type]
        assert entry_codec.loads(entry_codec.dumps(entry)) == entry


@settings(max_examples=200, deadline=None)
@given(record=st.one_of(*[_record(c) for c in strategies.TOP_LEVEL]))
def test_validate_only_ever_raises_implausible_value(record: Any) -> None:
    """Any record of any type: validate returns or raises ImplausibleValue, nothing else."""
    _plausible(record)


def test_the_generated_events_reach_both_outcomes() -> None:
    """Guard for the property test: its strategy yields plausible and implausible events."""
    seen: set[bool] = set()

    @settings(max_examples=100, deadline=None, database=None)
    @given(event=_EVENTS)
    def probe(event: InteractionEvent) -> None:
        seen.add(_plausible(event))

    probe()
    assert seen == {True, False}


def _party(event: InteractionEvent) -> PartyInteraction:
    return PartyInteraction(
        event.event_id, event.tenant_id, event.occurred_at, "0" * 32, "phone", CALLER,
        "phone-1", False, event,
    )
