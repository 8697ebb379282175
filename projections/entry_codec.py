"""Stored form of an InteractionEntry in Redis: compact binary (format 3; 2 and 1 still read)."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.timeline import (
    AgentLeg,
    Analysis,
    Ending,
    Hinted,
    InteractionEntry,
    Offer,
    Queued,
    Recording,
    WrapUp,
)
from projections import entry_codec_json
from projections.entry_bytes import Reader, Writer

# Why binary: memory per stored interaction is budgeted (docs/storage.md) and the JSON form
# spent most of it on field names, 36-character UUIDs and 13-digit timestamps. Format 3 is
#   0x03 | tenant | interaction id | channel | started ms | last-started | stamps | sections
#        | legs
# with unsigned/zigzag varints; stamps as one sorted table (each as the time since the one
# before, whole seconds a byte shorter, and the fold's 64-bit event digest as 8 raw bytes)
# that sections and legs refer to by index (an offer and its queue share one stamp); each
# section a presence bitmap over a fixed field list, then the present values; short decimal
# floats as places + mantissa. Texts are typed (projections/entry_bytes.py): words of the
# fixed list below, UUIDs and hex as bytes, the interaction id inside a text as a template,
# back-references and shared prefixes to earlier texts of the same entry.
# Format 2 (0x02) differs only in stamps (ms since the start, event id as a text), floats
# (repr) and the absence of shared prefixes; it is still read. The first byte is never '~'
# (tombstones) or '{' (format 1 JSON, still read). Field lists and WORDS are append-only:
# stored entries decode by position. An entry with a field this codec does not list (a newer
# fold) is written as format 1 JSON, so nothing is ever dropped.
ENTRY_FORMAT = 3
_MAGIC, _MAGIC_V2 = b"\x03", b"\x02"
# fmt: off
WORDS = ("voice", "chat", "sms", "email", "whatsapp", "inbound", "outbound", "internal",
         "positive", "neutral", "negative", "mixed", "blind", "consult", "conference", "home",
         "work", "mobile", "office", "main")
_SECTIONS: tuple[tuple[str, type[Any], tuple[str, ...]], ...] = (
    ("offer", Offer, ("direction", "queue", "campaign", "subject", "ivr_path", "hint")),
    ("queued", Queued, ("queue",)),
    ("hinted", Hinted, ("hint",)),
    ("ending", Ending, ("direction", "duration_seconds", "end_reason")),
    ("wrapup", WrapUp, ("agent_id", "disposition_code", "notes", "outcome", "failed",
                        "campaign", "contact_mode", "score", "agent_name")),
    ("analysis", Analysis, ("sentiment", "sentiment_label", "topics", "transcript_url",
                            "ai_title", "summary", "transcript_text")),
    ("recording", Recording, ("url", "duration_seconds")),
)
_LEG_FIELDS = ("leg_id", "accepted", "agent_id", "agent_name", "queue", "transfer", "mode",
               "ended", "duration_seconds")
# fmt: on
_STAMPS = frozenset({"accepted", "transfer", "ended"})
_INTS, _FLOATS = frozenset({"duration_seconds"}), frozenset({"sentiment", "score"})
_TUPLES, _BOOLS = frozenset({"ivr_path", "topics"}), frozenset({"failed"})
_DIGEST = frozenset("0123456789abcdef")
_REQUIRED = object()


def _defaults(cls: type[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = _REQUIRED
    return out


_DEFAULTS = {cls: _defaults(cls) for _, cls, _ in _SECTIONS} | {AgentLeg: _defaults(AgentLeg)}


def _is_digest(event_id: str) -> bool:
    return len(event_id) == 16 and set(event_id) <= _DIGEST


class _EntryWriter(Writer):
    def __init__(self) -> None:
        super().__init__(_MAGIC, WORDS, prefixes=True)
        self.stamps: dict[tuple[int, str], int] = {}

    def value(self, name: str, value: Any) -> None:
        if name in _STAMPS:
            self.uint(self.stamps[value])
        elif name in _BOOLS:
            pass  # present == differs from the default
        elif name in _INTS:
            self.sint(int(value))
        elif name in _FLOATS:
            self.number(value)
        elif name in _TUPLES:
            self.uint(len(value))
            for item in value:
                self.text(item)
        else:
            self.text(value)

    def fields(self, obj: Any, names: tuple[str, ...]) -> None:
        defaults = _DEFAULTS[type(obj)]
        present = [n for n in names if getattr(obj, n) != defaults.get(n, _REQUIRED)]
        self.uint(sum(1 << names.index(n) for n in present))
        for name in present:
            self.value(name, getattr(obj, name))


def _stamps_of(entry: InteractionEntry) -> list[tuple[int, str]]:
    stamps = {s.stamp for attr, _, _ in _SECTIONS if (s := getattr(entry, attr)) is not None}
    for leg in entry.legs:
        stamps |= {getattr(leg, n) for n in _STAMPS if getattr(leg, n) is not None}
    return sorted(stamps)


_ENTRY_FIELDS = {
    "tenant_id",
    "interaction_id",
    "channel",
    "started_ms",
    "last_ms",
    "legs",
    *(a for a, _, _ in _SECTIONS),
}


def _unlisted(entry: InteractionEntry) -> bool:
    """True when the entry has a non-default value in a field this format does not list."""
    parts = [(getattr(entry, a), (*names, "stamp")) for a, _, names in _SECTIONS]
    parts += [(leg, _LEG_FIELDS) for leg in entry.legs]
    for obj, names in parts:
        if obj is None:
            continue
        defaults = _DEFAULTS[type(obj)]
        if any(getattr(obj, n) != defaults.get(n) for n in obj.__slots__ if n not in names):
            return True
    return any(f.name not in _ENTRY_FIELDS for f in dataclasses.fields(InteractionEntry))


def dumps(entry: InteractionEntry) -> bytes:
    """Serialize an entry (deterministic: equal entries give equal bytes)."""
    if _unlisted(entry):
        return entry_codec_json.dumps(entry)
    w = _EntryWriter()
    w.text(entry.tenant_id)
    w.text(entry.interaction_id)
    w.iid = entry.interaction_id  # later texts may embed it (leg ids, media URLs)
    w.text(entry.channel)
    w.uint(entry.started_ms)
    w.millis(entry.last_ms - entry.started_ms)
    stamps = _stamps_of(entry)
    w.uint(len(stamps))
    previous = entry.started_ms
    for index, (ms, event_id) in enumerate(stamps):
        w.stamps[(ms, event_id)] = index
        digest = _is_digest(event_id)
        w.millis(ms - previous, int(digest))
        if digest:
            w.out += bytes.fromhex(event_id)
        else:
            w.text(event_id)
        previous = ms
    sections = [getattr(entry, attr) for attr, _, _ in _SECTIONS]
    w.uint(sum(1 << i for i, s in enumerate(sections) if s is not None))
    for section, (_, _, names) in zip(sections, _SECTIONS, strict=True):
        if section is not None:
            w.uint(w.stamps[section.stamp])
            w.fields(section, names)
    w.uint(len(entry.legs))
    for leg in entry.legs:
        w.fields(leg, _LEG_FIELDS)
    return bytes(w.out)


class _EntryReader(Reader):
    def __init__(self, data: bytes) -> None:
        super().__init__(data, WORDS)
        self.v2 = data[:1] == _MAGIC_V2
        self.stamps: list[tuple[int, str]] = []

    def read_stamps(self, started: int) -> None:
        previous = started
        for _ in range(self.uint()):
            if self.v2:
                self.stamps.append((started + self.sint(), self.text()))
                continue
            delta, digest = self.millis()
            previous += delta
            event_id = self.take(8).hex() if digest else self.text()
            self.stamps.append((previous, event_id))

    def fields(self, cls: type[Any], names: tuple[str, ...], **kwargs: Any) -> Any:
        bits = self.uint()
        defaults = _DEFAULTS[cls]
        for i, name in enumerate(names):
            if bits & (1 << i):
                kwargs[name] = self.value(name, defaults.get(name, _REQUIRED))
        return cls(**kwargs)

    def value(self, name: str, default: Any) -> Any:
        if name in _STAMPS:
            return self.stamps[self.uint()]
        if name in _BOOLS:
            return not default
        if name in _INTS:
            return self.sint()
        if name in _FLOATS:
            return float(self.raw().decode()) if self.v2 else self.number()
        if name in _TUPLES:
            return tuple(self.text() for _ in range(self.uint()))
        return self.text()


def loads(data: bytes) -> InteractionEntry:
    """Parse bytes written by `dumps` (format 3, 2 or 1); raises ValueError."""
    if data[:1] == b"{":
        return entry_codec_json.loads(data)
    if data[:1] not in (_MAGIC, _MAGIC_V2):
        raise ValueError(f"unsupported stored entry format {data[:1]!r}")
    r = _EntryReader(data)
    try:
        tenant = r.text()
        r.iid = r.text()
        channel = r.text()
        started = r.uint()
        last = started + (r.sint() if r.v2 else r.millis()[0])
        r.read_stamps(started)
        present = r.uint()
        sections: dict[str, Any] = {}
        for i, (attr, cls, names) in enumerate(_SECTIONS):
            if present & (1 << i):
                stamp = r.stamps[r.uint()]
                sections[attr] = r.fields(cls, names, stamp=stamp)
        legs = tuple(r.fields(AgentLeg, _LEG_FIELDS) for _ in range(r.uint()))
    except (IndexError, UnicodeDecodeError) as exc:
        raise ValueError(f"stored entry does not parse: {exc}") from exc
    if r.pos != len(data):
        raise ValueError("trailing bytes after the stored entry")
    return InteractionEntry(tenant, r.iid, channel, started, last, legs=legs, **sections)
