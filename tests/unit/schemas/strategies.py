"""Hypothesis strategies that build any c360 record from its dataclass type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from schemas import records

# The whole timestamp-millis range Python can hold (years 1..9999), at millisecond precision.
_MIN_MS, _MAX_MS = -62_135_596_800_000, 253_402_300_799_999
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
timestamps = st.integers(_MIN_MS, _MAX_MS).map(lambda ms: _EPOCH + timedelta(milliseconds=ms))
texts = st.text(max_size=20)  # no lone surrogates (hypothesis excludes category Cs)


def for_type(tp: typing.Any, *, json_safe: bool) -> st.SearchStrategy[typing.Any]:
    """Values of a record field type; json_safe leaves out infinite floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[for_type(a, json_safe=json_safe) for a in typing.get_args(tp)])
    simple: dict[typing.Any, st.SearchStrategy[typing.Any]] = {
        type(None): st.none(),
        str: texts,
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=not json_safe),
        bool: st.booleans(),
        bytes: st.binary(max_size=64),
        datetime: timestamps,
    }
    if tp in simple:
        return simple[tp]
    if origin is tuple:
        return st.lists(for_type(typing.get_args(tp)[0], json_safe=json_safe),
                        max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(texts, texts, max_size=3)
    return record(tp, json_safe=json_safe)


def record(cls: type, *, json_safe: bool = True) -> st.SearchStrategy[typing.Any]:
    """Instances of a record dataclass with every field drawn from its type."""
    hints = typing.get_type_hints(cls, vars(records))
    return st.builds(cls, **{f.name: for_type(hints[f.name], json_safe=json_safe)
                             for f in dataclasses.fields(cls)})


TOP_LEVEL = tuple(c for c in records.ALL_RECORD_TYPES
                  if c not in (records.CrmRecordHint, records.MatchCandidate))
any_record = st.one_of(*[record(c) for c in TOP_LEVEL])
