"""Pure helpers shared by the source translators: field access, times, ids, JSON/form parsing."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl

from connectors.sources.errors import SourcePayloadError
from schemas import json_limits
from schemas.errors import SchemaError

P = ParamSpec("P")
R = TypeVar("R")

# Fixed namespace: event ids must be identical across processes, releases and replays.
EVENT_NAMESPACE = uuid.UUID("6f1c9d2e-3b7a-5c41-9e0f-c360ad0be5e1")
_SHORT_DIGITS = re.compile(r"^\d{2,6}$")


def event_id(tenant_id: str, vendor: str, *parts: object) -> str:
    """uuid5 of (tenant, vendor, vendor ids..., event kind): a re-delivered payload gets the
    same id, so every downstream write deduplicates it."""
    name = "\x1f".join([tenant_id, vendor, *(str(p) for p in parts)])
    return str(uuid.uuid5(EVENT_NAMESPACE, name))


def load_json(payload: object, vendor: str) -> Mapping[str, Any]:
    """bytes/str JSON or an already-parsed mapping -> mapping; raises SourcePayloadError
    (also for JSON nested deeper than schemas.json_limits.MAX_DEPTH)."""
    if isinstance(payload, bytes | bytearray):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourcePayloadError(f"{vendor}: payload is not UTF-8") from exc
    if isinstance(payload, str):
        payload = parse_json(payload, vendor, "payload")
    return as_mapping(payload, vendor, "payload")


def parse_json(raw: str | bytes, vendor: str, where: str) -> Any:
    """JSON text -> value within the edge's depth limit; SourcePayloadError naming `where`
    for invalid or too deeply nested JSON (never RecursionError: a vendor payload is
    untrusted, and a JSON string inside it, such as TaskRouter attributes, too)."""
    try:
        return json_limits.loads(raw)
    except json_limits.JsonTooDeep as exc:
        msg = f"{vendor}: {where} nests deeper than {json_limits.MAX_DEPTH} levels"
        raise SourcePayloadError(msg) from exc
    except SchemaError as exc:
        cause = exc.__context__ or exc
        detail = cause.msg if isinstance(cause, json.JSONDecodeError) else "invalid"
        raise SourcePayloadError(f"{vendor}: {where} is not JSON ({detail})") from exc


def load_form(payload: object, vendor: str) -> dict[str, str]:
    """application/x-www-form-urlencoded bytes/str, or a mapping of str -> str."""
    if isinstance(payload, Mapping):
        return {str(k): str(v) for k, v in payload.items()}
    if isinstance(payload, bytes | bytearray):
        payload = bytes(payload).decode("utf-8", errors="strict")
    if not isinstance(payload, str):
        raise SourcePayloadError(f"{vendor}: form payload must be bytes, str or a mapping")
    try:
        pairs = parse_qsl(payload.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise SourcePayloadError(f"{vendor}: payload is not a form body") from exc
    return dict(pairs)


def as_mapping(value: object, vendor: str, where: str) -> Mapping[str, Any]:
    """The value as a JSON object, or SourcePayloadError naming where it was expected."""
    if not isinstance(value, Mapping):
        raise SourcePayloadError(f"{vendor}: {where} must be an object")
    return value


def text(obj: Mapping[str, Any], key: str, vendor: str, *, required: bool = True) -> str:
    """A string field; missing/blank/non-scalar fields raise when required, else give ''."""
    value = obj.get(key)
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    if required:
        raise SourcePayloadError(f"{vendor}: field {key!r} is missing or not a string")
    return ""


def optional(obj: object, key: str) -> str | None:
    """A string field or None when absent/blank (or when obj is not an object at all)."""
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(key)
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def ifind(obj: Mapping[str, Any], *keys: str) -> Any:
    """obj[key] for the first key present, matched case-insensitively (vendors mix casing)."""
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for key in keys:
        if key.lower() in lowered:
            return lowered[key.lower()]
    return None


def parse_time(value: object, vendor: str, field: str) -> datetime:
    """ISO 8601 ('...Z' allowed) or epoch seconds/ms/us (by magnitude) -> aware UTC datetime."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return from_epoch(float(value))
        if isinstance(value, str) and value.strip():
            raw = value.strip()
            if re.fullmatch(r"\d+(\.\d+)?", raw):
                return from_epoch(float(raw))
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SourcePayloadError(f"{vendor}: field {field!r} is not a timestamp") from exc
    raise SourcePayloadError(f"{vendor}: field {field!r} is missing or not a timestamp")


def from_epoch(value: float) -> datetime:
    """Epoch in seconds, milliseconds or microseconds (told apart by magnitude) -> UTC."""
    if value > 1e14:
        value /= 1_000_000
    elif value > 1e11:
        value /= 1000
    return datetime.fromtimestamp(value, tz=UTC)


def seconds_between(start: datetime | None, end: datetime | None) -> int:
    """Whole seconds from start to end, never negative; 0 when either is unknown."""
    if start is None or end is None:
        return 0
    return max(0, round((end - start).total_seconds()))


def when(explicit: datetime | None, received_at: datetime | None, vendor: str) -> datetime:
    """The payload's own time, else the receiver's clock passed in; never the wall clock here,
    so translation stays deterministic."""
    if explicit is not None:
        return explicit
    if received_at is None:
        raise SourcePayloadError(f"{vendor}: payload has no timestamp and no received_at given")
    return received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)


def looks_internal(address: str) -> bool:
    """A PBX extension (2-6 digits) as far as a translator can tell without the normalizer;
    used only to guess a call's direction when the vendor does not say."""
    return bool(_SHORT_DIGITS.match(address.strip()))


def payload_errors(vendor: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn a structural surprise deep in a vendor payload (a list where an object was
    expected, a number where text was) into SourcePayloadError: the payload is untrusted
    input, and the agent must dead-letter it rather than crash. Only the exception's type is
    kept in the message, never its text, which could quote caller data."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
                if isinstance(exc, SourcePayloadError):
                    raise
                raise SourcePayloadError(
                    f"{vendor}: malformed payload ({type(exc).__name__})"
                ) from exc

        return guarded

    return wrap
