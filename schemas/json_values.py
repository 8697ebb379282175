"""Validators and renderers for canonical JSON values (one JSON value <-> one field value)."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

_NONE = type(None)
_LONG = (-(2**63), 2**63 - 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Bad(Exception):
    """A JSON value's problem; the record converter prefixes the record and field names."""


def finite(v: float) -> float:
    """`v`, or Bad for NaN/infinity (which JSON cannot carry)."""
    if not math.isfinite(v):
        raise Bad(f"is {v}: JSON has no NaN or Infinity")
    return v


def type_name(v: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    return {bool: "boolean", dict: "object", list: "list", _NONE: "null"}.get(
        type(v), type(v).__name__
    )


def check_str(v: Any) -> str:
    """A string Avro can encode (UTF-8: no lone surrogates)."""
    if not isinstance(v, str):
        raise Bad(f"must be str, got {type_name(v)}")
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad("is not valid Unicode (lone surrogate)") from None
    return v


def check_bool(v: Any) -> bool:
    """A JSON boolean."""
    if not isinstance(v, bool):
        raise Bad(f"must be bool, got {type_name(v)}")
    return v


def check_long(v: Any) -> int:
    """An integer within Avro long (64-bit signed); booleans are not integers."""
    if not isinstance(v, int) or isinstance(v, bool):
        raise Bad(f"must be int, got {type_name(v)}")
    if not _LONG[0] <= v <= _LONG[1]:
        raise Bad("is out of the 64-bit range")
    return v


def check_double(v: Any) -> float:
    """A number, as a float."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        raise Bad(f"must be float, got {type_name(v)}")
    try:
        return float(v)
    except OverflowError:
        raise Bad("is out of the double range") from None


def check_bytes(v: Any) -> bytes:
    """Bytes from standard base64 text."""
    if not isinstance(v, str):
        raise Bad(f"must be a base64 string, got {type_name(v)}")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("is not base64") from None


def check_timestamp(v: Any) -> datetime:
    """A UTC datetime (milliseconds) from RFC 3339 text or epoch milliseconds; a timestamp
    without an offset is taken as UTC."""
    if isinstance(v, int) and not isinstance(v, bool):
        try:
            return _EPOCH + timedelta(milliseconds=v)
        except OverflowError:
            raise Bad("is out of the timestamp range") from None
    if not isinstance(v, str):
        raise Bad(f"must be an RFC 3339 timestamp or epoch milliseconds, got {type_name(v)}")
    text = v.upper()
    try:
        if "T" not in text:
            raise ValueError
        parsed = datetime.fromisoformat(text)
        parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise Bad("is not an RFC 3339 timestamp") from None
    # Avro keeps milliseconds; cutting here makes the JSON and Avro paths give equal records.
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def check_string_map(v: Any) -> dict[str, str]:
    """An object of string values (an Avro map of strings)."""
    if not isinstance(v, dict):
        raise Bad(f"must be an object of strings, got {type_name(v)}")
    for key, value in v.items():
        check_str(key)
        check_str(value)
    return dict(v)


SCALARS: dict[Any, Callable[[Any], Any]] = {
    str: check_str,
    bool: check_bool,
    int: check_long,
    float: check_double,
    bytes: check_bytes,
    datetime: check_timestamp,
}
