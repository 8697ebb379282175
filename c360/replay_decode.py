"""Replay's fast decoder of by-party records: Avro compiled to Python, checked against codec."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import codec
from schemas.records import ALL_RECORD_TYPES, PartyInteraction
from schemas.registry import registry

# Why: fastavro's generic reader walks the schema dicts for every field of every record
# (~20 us per PartyInteraction on this machine, the largest cost of a replay). This module
# turns the *current* PartyInteraction writer schema into straight-line Python once (one
# function per named record), building the same dataclasses `codec.decode` builds. It is a
# replica, not a second contract: anything it does not read exactly as codec does (another
# writer fingerprint, JSON, Confluent framing, an oversized or malformed body, a boolean
# byte other than 0/1) raises internally and the record goes through `codec.decode`, whose verdict
# (record or SchemaError) is final. tests/unit/replay checks equality on generated records.

Decoder = Callable[[bytes], Any]
Party = tuple[str, str, Any]  # tenant_id, party_token, the InteractionEvent
PartyDecoder = Callable[[bytes], Party | None]
_CLASSES = {cls.__name__: cls for cls in ALL_RECORD_TYPES}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The envelope fields replay uses; the others are read (so a payload codec would reject is
# still rejected) but not built into a PartyInteraction.
_KEPT = ("tenant_id", "party_token", "event")
_CHECKED_MS = "c360-checked-millis"
_MS_MIN = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
_MS_MAX = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // timedelta(
    milliseconds=1
)


class _Miss(Exception):
    """The fast path cannot read this payload exactly like codec.decode."""


def _varint(b: bytes, p: int, x: int) -> tuple[int, int]:
    """Continue a varint whose first byte `x` (>= 0x80) was read; returns (raw, next pos)."""
    n, shift = x & 0x7F, 7
    while True:
        x = b[p]
        p += 1
        n |= (x & 0x7F) << shift
        if x < 0x80:
            return n, p
        shift += 7
        if shift > 63:
            raise _Miss


def _ms(ms: int) -> datetime:
    # fastavro's timestamp-millis reader, exactly (epoch + timedelta), so to_ms() agrees.
    return _EPOCH + timedelta(microseconds=ms * 1000)


class _Compiler:
    """Emits one `r_<Record>(b, p) -> (record, p)` function per named record."""

    def __init__(self, envelope: dict[str, Any]) -> None:
        self.funcs: dict[str, list[str]] = {}
        self.n = 0
        self.envelope = envelope  # the top record: returns (tenant, token, event)
        self.named: dict[str, dict[str, Any]] = {}  # named types, for references by name
        _collect(envelope, self.named)

    def var(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def record(self, schema: dict[str, Any]) -> str:
        name = str(schema["name"])
        fn = "r_" + name.rsplit(".", 1)[-1]
        if fn in self.funcs:
            return fn
        if name.rsplit(".", 1)[-1] not in _CLASSES:
            raise _Miss
        self.funcs[fn] = []  # reserve (recursive references)
        self.funcs[fn] = self._record_body(schema, fn)
        return fn

    def _record_body(self, schema: dict[str, Any], fn: str) -> list[str]:
        lines = [f"def {fn}(b, p):"]
        args = {}
        for field in schema["fields"]:
            out = self.var()
            tp = field["type"]
            if self.envelope is schema and field["name"] not in _KEPT:
                tp = _unconverted(tp)  # read and checked, never turned into objects
            lines += ["    " + line for line in self.value(tp, out)]
            args[field["name"]] = out
        if self.envelope is schema:
            if set(_KEPT) - set(args):
                raise _Miss
            lines.append(f"    return ({', '.join(args[k] for k in _KEPT)}), p")
            return lines
        cls = schema["name"].rsplit(".", 1)[-1]
        call = ", ".join(f"{k}={v}" for k, v in args.items())
        lines.append(f"    return C_{cls}({call}), p")
        return lines

    def value(self, tp: Any, out: str) -> list[str]:
        if isinstance(tp, list):
            return self.union(tp, out)
        if isinstance(tp, str):
            tp = {"type": tp}
        kind = tp["type"]
        if isinstance(kind, dict | list):
            return self.value(kind, out)
        if kind == "record":
            return [f"{out}, p = {self.record(tp)}(b, p)"]
        if kind in self.named:
            return [f"{out}, p = {self.record(self.named[kind])}(b, p)"]
        if kind in {"long", "int"}:
            read = _long(out)
            logical = tp.get("logicalType")
            if logical == "timestamp-millis":
                return [*read, f"{out} = _ms({out})"]
            if logical == _CHECKED_MS:  # the datetime codec would build must exist
                return [*read, f"if not _MS_MIN <= {out} <= _MS_MAX: raise _Miss"]
            if logical is not None:
                raise _Miss
            return read
        if kind == "string":
            return _string(out)
        if kind == "boolean":
            return ["x = b[p]", "p += 1", "if x > 1: raise _Miss", f"{out} = x == 1"]
        if kind == "double":
            return [f"{out} = _double(b, p)[0]", "p += 8"]
        if kind == "null":
            return [f"{out} = None"]
        if kind == "array":
            return self.blocks(tp["items"], out, "[]", f"{out}.append(i)", f"{out} = tuple({out})")
        if kind == "map":
            return self.blocks(tp["values"], out, "{}", f"{out}[k] = i", None, keyed=True)
        raise _Miss  # a type our records do not use: the compiler gives up (codec path)

    def blocks(
        self, item: Any, out: str, empty: str, add: str, done: str | None, *, keyed: bool = False
    ) -> list[str]:
        body = ["c, p = _long(b, p)"]
        loop = [
            f"{out} = {empty}",
            *body,
            "while c:",
            "    if c < 0:",  # a negative count is followed by the block's byte size
            "        c = -c",
            "        _, p = _long(b, p)",
            "    for _ in range(c):",
        ]
        inner = (_string("k") if keyed else []) + self.value(item, "i") + [add]
        loop += ["        " + line for line in inner]
        loop += ["    " + line for line in body]
        return loop + ([done] if done else [])

    def union(self, branches: list[Any], out: str) -> list[str]:
        # The index as its one-byte zigzag form (2 * index); any other spelling -> codec.
        lines = ["x = b[p]", "p += 1"]
        for index, branch in enumerate(branches):
            head = "if" if index == 0 else "elif"
            lines.append(f"{head} x == {2 * index}:")
            lines += ["    " + line for line in self.value(branch, out)]
        lines += ["else:", "    raise _Miss"]
        return lines


def _unconverted(tp: Any) -> Any:
    if isinstance(tp, dict) and tp.get("logicalType") == "timestamp-millis":
        return {**tp, "logicalType": _CHECKED_MS}
    return tp


# Generated reads inline the one-byte case (small numbers, strings under 64 bytes) and
# call a helper otherwise. A slice past the end is not checked here: the next read raises
# IndexError, or the final length check fails, and either sends the payload to codec.
def _long(out: str) -> list[str]:
    return [
        "x = b[p]",
        "if x < 128:",
        f"    {out} = (x >> 1) ^ -(x & 1)",
        "    p += 1",
        "else:",
        f"    {out}, p = _long(b, p)",
    ]


def _string(out: str) -> list[str]:
    return [
        "x = b[p]",
        "if x < 128 and not x & 1:",
        "    e = p + 1 + (x >> 1)",
        f"    {out} = b[p + 1 : e].decode()",
        "    p = e",
        "else:",
        f"    {out}, p = _str(b, p)",
    ]


def _read_long(b: bytes, p: int) -> tuple[int, int]:
    x = b[p]
    p += 1
    if x > 127:
        x, p = _varint(b, p, x)
    return (x >> 1) ^ -(x & 1), p


def _read_str(b: bytes, p: int) -> tuple[str, int]:
    n, p = _read_long(b, p)
    if n < 0:
        raise _Miss
    return b[p : p + n].decode(), p + n


def _collect(tp: Any, named: dict[str, dict[str, Any]]) -> None:
    if isinstance(tp, list):
        for branch in tp:
            _collect(branch, named)
    elif isinstance(tp, dict):
        if tp.get("type") == "record":
            named[tp["name"]] = tp
            for field in tp["fields"]:
                _collect(field["type"], named)
        for key in ("items", "values"):
            if key in tp:
                _collect(tp[key], named)
        if isinstance(tp.get("type"), dict | list):
            _collect(tp["type"], named)


def compile_decoder(schema: dict[str, Any], header: bytes) -> Decoder:
    """A decoder of single-object PartyInteraction payloads that start with `header` (magic
    + fingerprint) and carry `schema`: (tenant_id, party_token, event); it raises _Miss
    where codec.decode must decide."""
    compiler = _Compiler(schema)
    top = compiler.record(schema)
    source = "\n".join(line for lines in compiler.funcs.values() for line in lines)
    scope: dict[str, Any] = {
        "_long": _read_long,
        "_str": _read_str,
        "_ms": _ms,
        "_Miss": _Miss,
        "_MS_MIN": _MS_MIN,
        "_MS_MAX": _MS_MAX,
        "_double": struct.Struct("<d").unpack_from,
        **{f"C_{name}": cls for name, cls in _CLASSES.items()},
    }
    exec(compile(source, f"<replay decoder {schema['name']}>", "exec"), scope)  # noqa: S102
    read = scope[top]
    start = len(header)

    def decode(data: bytes) -> Any:
        if data[:start] != header or len(data) > codec.DEFAULT_MAX_BYTES:
            raise _Miss
        record, end = read(data, start)
        if end != len(data):
            raise _Miss
        return record

    return decode


def party_decoder() -> PartyDecoder:
    """decode(bytes) -> (tenant_id, party_token, event) of a PartyInteraction exactly as
    codec.decode reads it; None for another record type; SchemaError when codec raises it.
    Fast for payloads of the current PartyInteraction writer schema."""
    entry = registry().of(PartyInteraction)
    try:
        fast: Decoder | None = compile_decoder(entry.schema, codec.MAGIC + entry.fingerprint)
    except _Miss:
        fast = None
    reference = codec.decode

    def decode(data: bytes) -> Party | None:
        if fast is not None:
            try:
                party: Party = fast(data)
            except (_Miss, IndexError, UnicodeDecodeError, TypeError, ValueError,
                    OverflowError, struct.error):
                pass  # not exactly readable here: the reference decoder decides
            else:
                return party
        record = reference(data)
        if not isinstance(record, PartyInteraction):
            return None
        return record.tenant_id, record.party_token, record.event

    return decode
