"""Test support: locate the published vendor samples and load their not-quite-JSON files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

# The samples are published payloads kept OUTSIDE the repo (see their SOURCES.md): by default
# ../shared/vendor-samples next to the checkout, or C360_VENDOR_SAMPLES.
_DEFAULT = Path(__file__).resolve().parents[4] / "shared" / "vendor-samples"
SAMPLES_DIR = Path(os.environ.get("C360_VENDOR_SAMPLES", str(_DEFAULT)))


def sample_path(name: str) -> Path:
    """Path of one sample file; skips the test (with the reason) when the folder is absent."""
    path = SAMPLES_DIR / name
    if not path.is_file():
        pytest.skip(f"vendor sample {name} not found under {SAMPLES_DIR}")
    return path


def sample_text(name: str) -> str:
    """The sample's text exactly as published."""
    return sample_path(name).read_text(encoding="utf-8")


def sample_json(name: str) -> Any:
    """Parse a .json sample strictly, a .jsonc sample with load_jsonc."""
    text = sample_text(name)
    return load_jsonc(text) if name.endswith(".jsonc") else json.loads(text)


_STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_MISSING_COMMA = re.compile(r'("|\d|true|false|null|[}\]])(\s*\n\s*)(")')


def load_jsonc(text: str) -> Any:
    """Parse the quirks the .jsonc samples have, and only those.

    // and /* */ comments (outside strings), trailing commas, a missing comma between two
    members on separate lines, and extra closing braces after the document. Raises
    json.JSONDecodeError for anything else.
    """
    text = _STRING_OR_COMMENT.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)
    text = _TRAILING_COMMA.sub(r"\1", text)
    text = _MISSING_COMMA.sub(r"\1,\2\3", text)
    value, end = json.JSONDecoder().raw_decode(text.strip())
    rest = text.strip()[end:].strip()
    if rest.strip("}"):
        raise json.JSONDecodeError("unexpected text after the document", rest, 0)
    return value


def http_request(name: str) -> tuple[dict[str, str], bytes]:
    """A captured raw HTTP request sample -> (headers, body bytes exactly as sent)."""
    raw = sample_path(name).read_bytes().replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")[1:]  # drop the request line
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return headers, body.rstrip(b"\n")
