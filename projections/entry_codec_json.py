"""Format 1 of the stored entry: short-key JSON (still read; written only as a fallback)."""

from __future__ import annotations

import json
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

# {"v":1, "t","i","c","s","l": tenant, interaction id, channel, start and last ms, sections as
# [ms, event_id, {field: value}] under one-letter keys, legs under "g"}; no nulls.
_V1: dict[str, tuple[str, type[Any]]] = {
    "o": ("offer", Offer),
    "q": ("queued", Queued),
    "h": ("hinted", Hinted),
    "e": ("ending", Ending),
    "w": ("wrapup", WrapUp),
    "a": ("analysis", Analysis),
    "r": ("recording", Recording),
}
_STAMPS = ("accepted", "transfer", "ended")


def _fields(obj: Any, skip: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in obj.__slots__:
        value = getattr(obj, name)
        if name not in skip and value is not None and value != () and value is not False:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def dumps(entry: InteractionEntry) -> bytes:
    """Serialize as format 1 JSON (deterministic)."""
    doc: dict[str, Any] = {
        "v": 1,
        "t": entry.tenant_id,
        "i": entry.interaction_id,
        "c": entry.channel,
        "s": entry.started_ms,
        "l": entry.last_ms,
    }
    for short, (attr, _cls) in _V1.items():
        if (section := getattr(entry, attr)) is not None:
            doc[short] = [*section.stamp, _fields(section, frozenset({"stamp"}))]
    if entry.legs:
        doc["g"] = [_fields(leg, frozenset()) for leg in entry.legs]
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def _section(cls: type[Any], raw: list[Any]) -> Any:
    ms, event_id, fields = raw
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return cls(stamp=(int(ms), str(event_id)), **kwargs)


def _leg(raw: dict[str, Any]) -> AgentLeg:
    kwargs: dict[str, Any] = {
        k: (int(v[0]), str(v[1])) if k in _STAMPS else v for k, v in raw.items()
    }
    return AgentLeg(**kwargs)


def loads(data: bytes) -> InteractionEntry:
    """Parse format 1 JSON; raises ValueError (or KeyError/TypeError) on anything else."""
    doc = json.loads(data)
    if doc.get("v") != 1:
        msg = f"unsupported stored entry format {doc.get('v')!r}"
        raise ValueError(msg)
    sections = {attr: _section(cls, doc[s]) for s, (attr, cls) in _V1.items() if s in doc}
    return InteractionEntry(
        doc["t"],
        doc["i"],
        doc["c"],
        int(doc["s"]),
        int(doc["l"]),
        legs=tuple(_leg(raw) for raw in doc.get("g", ())),
        **sections,
    )
