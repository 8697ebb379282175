"""Schema-evolution checks: can a reader schema read a writer schema's records (Avro rules)."""

from __future__ import annotations

from typing import Any

# The rules we hold c360.v1 to (docs/schemas.md): add only optional fields with defaults;
# never rename, retype or remove a field; a breaking change is a new namespace (c360.v2)
# on new topics (.v2). These checks are what the tests and a CI gate apply to a new .avsc.


def _fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema["fields"]}


def compatibility_problems(reader: dict[str, Any], writer: dict[str, Any]) -> list[str]:
    """Why `reader` cannot read `writer`'s records (empty when it can): every reader field
    must exist in the writer with the same type, or have a default."""
    problems = []
    wfields = _fields(writer)
    for name, field in _fields(reader).items():
        if name in wfields:
            if _norm(wfields[name]["type"]) != _norm(field["type"]):
                problems.append(f"{name}: type changed")
        elif "default" not in field:
            problems.append(f"{name}: added without a default")
    return problems


def _norm(tp: Any) -> Any:
    if isinstance(tp, dict) and tp.get("type") in ("record", "enum", "fixed"):
        return tp.get("name")
    if isinstance(tp, str) and "." in tp:
        return tp.rsplit(".", 1)[-1]
    if isinstance(tp, list):
        return [_norm(t) for t in tp]
    if isinstance(tp, dict):
        return {k: _norm(v) for k, v in tp.items() if k not in ("doc", "default")}
    return tp


def evolution_problems(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """A new version of a record is acceptable when each reads the other (full
    compatibility), so producers and consumers can upgrade in any order."""
    return [f"new reads old: {p}" for p in compatibility_problems(new, old)] + [
        f"old reads new: {p}" for p in compatibility_problems(old, new)
    ]
