"""Record <-> plain values for fastavro and for canonical JSON, compiled once per record type."""

from __future__ import annotations

import base64
import dataclasses
import functools
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas import records
from schemas.errors import SchemaError
from schemas.json_values import SCALARS, Bad, check_string_map, finite, type_name

# This is the hot path of every agent, so each record type gets its converters built once:
# a field that needs no conversion (most strings and numbers) costs nothing, and fastavro's
# output for our own reader schema is trusted (Avro already typed it); only JSON input is
# validated field by field.

Out = Callable[[Any], Any]
_NONE = type(None)
_FULL = "c360.v1."
_CLASSES = {cls.__name__: cls for cls in records.ALL_RECORD_TYPES}


@dataclass(frozen=True, slots=True)
class Plan:
    """The converters of one record type."""

    to_avro: Callable[[Any], dict[str, Any]]
    from_avro: Callable[[dict[str, Any]], Any]
    to_json: Callable[[Any], dict[str, Any]]
    from_json: Callable[[Any], Any]


def _split(tp: Any) -> tuple[bool, list[Any]]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        return _NONE in args, [a for a in args if a is not _NONE]
    return False, [tp]


def _is_record(tp: Any) -> bool:
    return isinstance(tp, type) and _CLASSES.get(tp.__name__) is tp


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _nullable(conv: Out | None, nullable: bool) -> Out | None:
    if conv is None or not nullable:
        return conv
    inner = conv
    return lambda v: None if v is None else inner(v)


@functools.cache
def plan(cls: type) -> Plan:
    """The compiled converters of a record dataclass."""
    hints = typing.get_type_hints(cls, vars(records))
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    getter = operator.attrgetter(*names)
    avro_out = {n: c for n in names if (c := _avro_out(hints[n])) is not None}
    avro_in = {n: c for n in names if (c := _avro_in(hints[n])) is not None}
    json_out = {n: c for n in names if (c := _json_out(hints[n])) is not None}
    json_in = tuple((n, _json_in(hints[n]), _required(f)) for n, f in zip(names, fields,
                                                                         strict=True))
    return Plan(
        to_avro=_record_out(cls, getter, avro_out),
        from_avro=_record_in(cls, avro_in),
        to_json=_record_out(cls, getter, json_out),
        from_json=_record_from_json(cls, json_in),
    )


def _record_out(cls: type, getter: Any, convs: dict[str, Out]) -> Any:
    names = tuple(f.name for f in dataclasses.fields(cls))
    items = tuple(convs.items())

    def out(record: Any) -> dict[str, Any]:
        plain = dict(zip(names, getter(record), strict=True))
        for name, conv in items:
            try:
                plain[name] = conv(plain[name])
            except Bad as exc:
                raise SchemaError(f"{cls.__name__}.{name} {exc}") from None
        return plain

    return out


def _record_in(cls: type, convs: dict[str, Out]) -> Any:
    items = tuple(convs.items())

    def inn(plain: dict[str, Any]) -> Any:
        for name, conv in items:
            plain[name] = conv(plain[name])
        return cls(**plain)

    return inn


def _member(table: dict[type, tuple[str, Out]], v: Any) -> tuple[str, Out]:
    try:
        return table[type(v)]
    except KeyError:
        names = ", ".join(t.__name__ for t in table)
        raise Bad(f"must be one of {names}, got {type(v).__name__}") from None


# --- Avro (fastavro datums) ----------------------------------------------------------------


def _avro_out(tp: Any) -> Out | None:
    nullable, members = _split(tp)
    recs = [m for m in members if _is_record(m)]
    if len(recs) > 1:  # a union of records: fastavro takes (full name, datum)
        table = {m: (_FULL + m.__name__, plan(m).to_avro) for m in recs}

        def union(v: Any) -> Any:
            name, conv = _member(table, v)
            return (name, conv(v))

        return _nullable(union, nullable)
    base = members[0]
    if _is_record(base):
        return _nullable(plan(base).to_avro, nullable)
    if base is datetime:  # fastavro reads a naive datetime as local time: ours are UTC
        return _nullable(lambda v: v if v.tzinfo is not None else v.replace(tzinfo=UTC),
                         nullable)
    if typing.get_origin(base) is tuple:
        item = _avro_out(typing.get_args(base)[0])
        if item is not None:
            return _nullable(lambda v: [item(i) for i in v], nullable)
    return None  # strings, numbers, booleans, bytes, string maps, tuples of those


def _avro_in(tp: Any) -> Out | None:
    nullable, members = _split(tp)
    recs = [m for m in members if _is_record(m)]
    if len(recs) > 1:  # read with return_record_name=True: (full name, datum)
        table = {_FULL + m.__name__: plan(m).from_avro for m in recs}
        return _nullable(lambda v: table[v[0]](v[1]), nullable)
    base = members[0]
    if _is_record(base):
        return _nullable(plan(base).from_avro, nullable)
    if typing.get_origin(base) is tuple:
        item = _avro_in(typing.get_args(base)[0])
        if item is None:
            return _nullable(tuple, nullable)
        return _nullable(lambda v: tuple([item(i) for i in v]), nullable)
    return None




# --- canonical JSON ------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """`2026-11-22T10:00:00.000Z`: UTC, milliseconds (naive datetimes are taken as UTC)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _json_out(tp: Any) -> Out | None:
    nullable, members = _split(tp)
    recs = [m for m in members if _is_record(m)]
    if len(recs) > 1:  # a union member carries its own "type"
        table = {m: (m.__name__, plan(m).to_json) for m in recs}

        def union(v: Any) -> Any:
            name, conv = _member(table, v)
            return {"type": name, **conv(v)}

        return _nullable(union, nullable)
    base = members[0]
    simple: dict[Any, Out] = {
        datetime: rfc3339,
        bytes: lambda v: base64.b64encode(v).decode("ascii"),
        float: finite,
    }
    if base in simple:
        return _nullable(simple[base], nullable)
    if _is_record(base):
        return _nullable(plan(base).to_json, nullable)
    if typing.get_origin(base) is tuple:
        item = _json_out(typing.get_args(base)[0])
        return _nullable(list if item is None else lambda v: [item(i) for i in v], nullable)
    return None


def _json_in(tp: Any) -> Out:
    nullable, members = _split(tp)
    recs = [m for m in members if _is_record(m)]
    base: Out
    if len(recs) > 1:
        table = {m.__name__: plan(m).from_json for m in recs}

        def base(v: Any) -> Any:
            conv = table.get(v.get("type")) if isinstance(v, dict) else None
            if conv is None:
                raise Bad(f'must be an object whose "type" is one of {", ".join(table)}')
            return conv(v)
    elif _is_record(members[0]):
        base = plan(members[0]).from_json
    elif typing.get_origin(members[0]) is tuple:
        item = _json_in(typing.get_args(members[0])[0])

        def base(v: Any) -> Any:
            if not isinstance(v, list):
                raise Bad(f"must be a list, got {type_name(v)}")
            return tuple([item(i) for i in v])
    elif typing.get_origin(members[0]) is dict:
        base = check_string_map
    else:
        base = SCALARS[members[0]]
    inner = base

    def checked(v: Any) -> Any:
        if v is None:
            if nullable:
                return None
            raise Bad("must not be null")
        return inner(v)

    return checked


def _record_from_json(cls: type, specs: tuple[tuple[str, Out, bool], ...]) -> Any:
    where = cls.__name__

    def inn(doc: Any) -> Any:
        if not isinstance(doc, dict):
            raise SchemaError(f"{where} must be an object, got {type_name(doc)}")
        kwargs: dict[str, Any] = {}
        missing: list[str] = []
        problems: list[str] = []
        for name, conv, required in specs:
            if name in doc:
                try:
                    kwargs[name] = conv(doc[name])
                except Bad as exc:
                    problems.append(f"{where}.{name} {exc}")
                except SchemaError as exc:  # a nested record's own complaint
                    problems.append(f"{where}.{name}: {exc}")
            elif required:
                missing.append(name)
        if missing:
            problems.insert(0, f"{where}: missing required field(s) {', '.join(missing)}")
        if problems:
            raise SchemaError("; ".join(problems))
        return cls(**kwargs)

    return inn
