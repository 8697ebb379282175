"""The compact stored form: exact round trips, older formats still read, garbage refused."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.timeline import AgentLeg, Analysis, Recording, WrapUp, fold
from projections import entry_codec, entry_codec_json
from projections.keys import entry_field, interaction_of_field
from schemas.records import InteractionAnalyzed, RecordingAvailable
from tests.factories import T0, eid, interaction_events, voice_call

texts = st.text(min_size=0, max_size=30)
ids = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    texts,
    st.binary(min_size=1, max_size=40).map(bytes.hex),
)


def _typical(iid: str):
    """A routed, answered, wrapped-up, analysed and recorded inbound call."""
    events = voice_call(iid)
    end = T0 + timedelta(minutes=3)
    events += [
        InteractionAnalyzed(
            eid(),
            "acme",
            end,
            iid,
            "voice",
            sentiment=0.6,
            sentiment_label="positive",
            ai_title="Home renewal",
            transcript_url=f"https://media.example.com/t/{iid}",
        ),
        RecordingAvailable(eid(), "acme", end, iid, "voice", f"https://media.example.com/r/{iid}"),
    ]
    return fold(events)[iid]


@given(st.lists(interaction_events(), min_size=1, max_size=25))
def test_any_fold_round_trips(events):
    """Every entry the fold can produce decodes to itself, in both formats."""
    for entry in fold(events).values():
        assert entry_codec.loads(entry_codec.dumps(entry)) == entry
        assert entry_codec.loads(entry_codec_json.dumps(entry)) == entry


@given(ids, ids, texts, texts, st.floats(allow_nan=False), st.integers(-(2**40), 2**40))
def test_odd_values_round_trip(iid, event_id, text, name, score, duration):
    """Non-UUID ids, ids inside other texts, unicode, negative numbers and any float."""
    entry = _typical(str(uuid.uuid4()))
    entry = replace(
        entry,
        interaction_id=iid,
        wrapup=WrapUp(
            (T0.microsecond, event_id),
            name,
            notes=f"{text}{iid}{text}",
            score=score,
            failed=True,
            campaign=text or None,
        ),
        analysis=Analysis((entry.started_ms - 5, event_id), sentiment=score, topics=(text, iid)),
        legs=(
            AgentLeg(
                f"{iid}-x",
                accepted=(entry.started_ms, event_id),
                agent_name=name,
                duration_seconds=duration,
                queue=text or None,
            ),
        ),
    )
    assert entry_codec.loads(entry_codec.dumps(entry)) == entry


def test_equal_entries_give_equal_bytes_and_never_look_like_a_tombstone():
    """Deterministic, and the first byte is neither '~' (tombstone) nor '{' (format 1)."""
    a = _typical("8c3f6a9e-2a52-4d55-9a43-4f5a7a0c1b2d")
    assert entry_codec.dumps(a) == entry_codec.dumps(replace(a))
    assert entry_codec.dumps(a)[:1] not in (b"~", b"{")


def test_a_typical_voice_interaction_stays_compact():
    """A typical call's value fits jemalloc's 256-byte class (<= 252 payload bytes in an sds
    string) and is over 4x smaller than the JSON form (docs/storage.md)."""
    entry = _typical(str(uuid.uuid4()))
    assert len(entry_codec.dumps(entry)) <= 252
    assert len(entry_codec.dumps(entry)) * 4 < len(entry_codec_json.dumps(entry))


@given(st.text(min_size=8, max_size=40), st.text(max_size=20), st.text(max_size=20))
def test_texts_sharing_a_prefix_round_trip(base, tail_a, tail_b):
    """Media links sharing a host (or any texts sharing a prefix) decode exactly."""
    entry = _typical(str(uuid.uuid4()))
    assert entry.recording is not None and entry.analysis is not None
    entry = replace(
        entry,
        analysis=replace(entry.analysis, transcript_url=base + tail_a, summary=base),
        recording=Recording(entry.recording.stamp, base + tail_b),
    )
    assert entry_codec.loads(entry_codec.dumps(entry)) == entry


@given(st.floats(allow_nan=False) | st.decimals(-10, 10, places=3).map(float))
def test_floats_round_trip_exactly(score):
    """Short decimals take the compact form, anything else (-0.0, 1e-300, inf) repr; both are
    exact."""
    entry = _typical(str(uuid.uuid4()))
    assert entry.analysis is not None
    entry = replace(entry, analysis=replace(entry.analysis, sentiment=score))
    back = entry_codec.loads(entry_codec.dumps(entry))
    assert back.analysis is not None and repr(back.analysis.sentiment) == repr(score)


_V2_IID = "8c3f6a9e-2a52-4d55-9a43-4f5a7a0c1b2d"
# Written by the format 2 codec (commit 5869064) for `_v2_entries()`; must stay readable.
_V2_TYPICAL = (
    "022061636d65038c3f6a9e2a524d559a434f5a7a0c1b2d0280d5ad83f232c0fc15060045e7fa09ff450555eb"
    "b0ea01450706c581494c583ef0840e45ca457226f288ac33d0d911457669afe22fd8a563c0fc1545b2cac8d6"
    "1752c2e7c0fc1545e3434f1cfb0515797b00032a2853616c657300010c02032abe010307386167656e742d31"
    "2053414c458801437573746f6d65722072656e657765642e051b03302e3642e10168747470733a2f2f6d6564"
    "69612e6578616d706c652e636f6d2f742f0060486f6d652072656e6577616c0401e10168747470733a2f2f6d"
    "656469612e6578616d706c652e636f6d2f722f00011f01032d61310114184164610c"
)
_V2_ODD = (
    "022061636d654069782d6f64642d310280d5ad83f232c0fc150609107a7a0045e7fa09ff450555eb02606e6f"
    "742d612d646967657374f0840e45ca457226f288ac33c0fc1545b2cac8d61752c2e7c0fc1545e3434f1cfb05"
    "15797b01032a2853616c657301012403032abe01029501406167656e742dc3bc0105206e6f7465042d302e30"
    "051b03302e3642800468747470733a2f2f6d656469612e6578616d706c652e636f6d2f742f38633366366139"
    "652d326135322d346435352d396134332d34663561376130633162326460486f6d652072656e6577616c0401"
    "800468747470733a2f2f6d656469612e6578616d706c652e636f6d2f722f38633366366139652d326135322d"
    "346435352d396134332d34663561376130633162326401830201022d780005"
)


def _v2_entries():
    """The entries the format 2 fixtures were written from (fixed ids and times)."""
    start = datetime(2025, 5, 30, 9, 0, tzinfo=UTC)
    end = start + timedelta(minutes=3)
    events = voice_call(_V2_IID, start=start)
    url = f"https://media.example.com/{{}}/{_V2_IID}"
    events += [
        InteractionAnalyzed(
            eid(),
            "acme",
            end,
            _V2_IID,
            "voice",
            sentiment=0.6,
            sentiment_label="positive",
            ai_title="Home renewal",
            transcript_url=url.format("t"),
        ),
        RecordingAvailable(eid(), "acme", end, _V2_IID, "voice", url.format("r")),
    ]
    events = [replace(e, event_id=f"e-{i}") for i, e in enumerate(events)]
    typical = fold(events)[_V2_IID]
    odd = replace(
        typical,
        interaction_id="ix-odd-1",
        wrapup=WrapUp(
            (typical.started_ms + 1, "not-a-digest"),
            "agent-\u00fc",
            notes="ix-odd-1 note",
            score=-0.0,
            failed=True,
        ),
        legs=(
            AgentLeg("ix-odd-1-x", accepted=(typical.started_ms - 5, "zz"), duration_seconds=-3),
        ),
    )
    return typical, odd


def test_format_2_entries_are_still_read():
    """Entries written before format 3 decode to what they were written from."""
    typical, odd = _v2_entries()
    assert entry_codec.loads(bytes.fromhex(_V2_TYPICAL)) == typical
    assert entry_codec.loads(bytes.fromhex(_V2_ODD)) == odd
    assert entry_codec.dumps(typical)[:1] == b"\x03"
    assert entry_codec.loads(entry_codec.dumps(odd)) == odd


@pytest.mark.parametrize(
    "data",
    [b"", b"\x02", b"\x02\x99", b"\x07abc", b'{"v":9}', b"\x02 acme\x00", b"\x03 acme\x00"],
)
def test_garbage_is_a_value_error(data):
    """Anything that is not a stored entry raises ValueError (the store calls it corrupt)."""
    with pytest.raises((ValueError, KeyError, TypeError)):
        entry_codec.loads(data)


def test_trailing_bytes_are_refused():
    """A stored entry with bytes after its end is corrupt."""
    data = entry_codec.dumps(_typical(str(uuid.uuid4())))
    with pytest.raises(ValueError, match="trailing"):
        entry_codec.loads(data + b"\x00")


@given(st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=40)))
def test_entry_fields_are_reversible_and_only_uuids_take_16_bytes(interaction_id):
    """keys.entry_field packs UUIDs into 16 bytes; every id maps back to itself."""
    field = entry_field(interaction_id)
    assert interaction_of_field(field) == interaction_id
    canonical = _is_canonical_uuid(interaction_id)
    assert (len(field) == 16) == canonical


@given(st.text(max_size=40), st.text(max_size=40))
def test_distinct_ids_never_share_an_entry_field(a, b):
    """The field mapping is injective, so two interactions never share a hash field."""
    if a != b:
        assert entry_field(a) != entry_field(b)


def _is_canonical_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
