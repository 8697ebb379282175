"""Bounded JSON parsing for every edge: size, then nesting depth, never a RecursionError."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from schemas.errors import PayloadTooLarge, SchemaError

# Why: CPython's json decoder recurses once per nesting level, so a 100k-deep "[[[[..."
# (200 KB, well under any size limit) raises RecursionError, which the edges used to surface
# as a 500 or a crash, and a merely deep document (say 900 levels) parses but breaks the next
# recursive step (json.dumps, converters, translators). No c360 record nests deeper than 4
# levels and the vendor payloads we translate about 10, so 64 is generous. A document cannot
# nest deeper than its number of "[" and "{" (counted at C speed), so the usual payload costs
# nothing more; otherwise the parser's own RecursionError is caught and the parsed document
# is walked iteratively (one step per value, no recursion) before anyone else sees it.
MAX_DEPTH = 64


class JsonTooDeep(SchemaError):
    """JSON nested deeper than the edge allows."""


def _too_deep(max_depth: int) -> JsonTooDeep:
    return JsonTooDeep(f"not JSON within limits: nested deeper than {max_depth} levels")


def _openers(data: str | bytes) -> int:
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def check_depth(doc: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise JsonTooDeep when a parsed JSON document nests arrays/objects deeper than
    `max_depth` (iterative: safe for any depth)."""
    if not isinstance(doc, dict | list):
        return
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise _too_deep(max_depth)
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def loads(
    data: str | bytes,
    *,
    max_depth: int = MAX_DEPTH,
    max_bytes: int | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """json.loads with the edge's limits: PayloadTooLarge when len(data) is over `max_bytes`
    (bytes, or characters of a str; None = no size limit), JsonTooDeep past `max_depth`,
    SchemaError for anything that is not JSON (invalid UTF-8 included); never
    RecursionError."""
    if max_bytes is not None and len(data) > max_bytes:
        raise PayloadTooLarge(f"JSON of {len(data)} bytes exceeds the {max_bytes} limit")
    try:
        doc = json.loads(data, parse_constant=parse_constant)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise SchemaError(f"not JSON: {str(exc)[:120]}") from None
    if _openers(data) > max_depth:
        check_depth(doc, max_depth)
    return doc
