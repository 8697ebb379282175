"""Per-tenant topic phrase lists from a JSON file (C360_TOPICS_FILE), reloaded on change."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from schemas.errors import C360Error

log = structlog.get_logger("c360.topics")
Phrases = Mapping[str, tuple[str, ...]]  # topic name -> phrases

# File shape: {"default": {"Billing": ["invoice", "charged twice"]},
#              "tenants": {"acme": {"Refund": ["refund", "money back"]}}}
# A tenant's own table replaces the default one entirely (admins list what they want shown).


class TopicConfigError(C360Error, ValueError):
    """The topics file is unreadable or invalid; the message lists every problem."""


def _table(doc: Any, where: str, problems: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(doc, dict):
        problems.append(f"{where}: expected an object of topic -> list of phrases")
        return {}
    table: dict[str, tuple[str, ...]] = {}
    for name, phrases in doc.items():
        ok = (
            isinstance(phrases, list)
            and phrases
            and all(isinstance(p, str) and p.strip() for p in phrases)
        )
        if not name.strip() or not ok:
            problems.append(f"{where}.{name}: expected a non-empty list of non-empty phrases")
            continue
        table[name.strip()] = tuple(p.strip() for p in phrases)
    return table


def parse_topics(text: str) -> TopicTables:
    """Parse the file's text; raises TopicConfigError listing all problems."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TopicConfigError(f"topics file is not JSON: {exc}") from exc
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise TopicConfigError("topics file must be an object with 'default' and/or 'tenants'")
    for key in sorted(set(doc) - {"default", "tenants"}):
        problems.append(f"unknown key {key!r} (allowed: default, tenants)")
    default = _table(doc.get("default", {}), "default", problems)
    tenants_doc = doc.get("tenants", {})
    tenants: dict[str, dict[str, tuple[str, ...]]] = {}
    if isinstance(tenants_doc, dict):
        for tenant, table in tenants_doc.items():
            tenants[tenant] = _table(table, f"tenants.{tenant}", problems)
    else:
        problems.append("tenants: expected an object of tenant -> topics")
    if problems:
        raise TopicConfigError("invalid topics file: " + "; ".join(problems))
    return TopicTables(default, tenants)


@dataclass(frozen=True, slots=True)
class TopicTables:
    """Parsed topic tables: a default and per-tenant overrides."""

    default: Phrases = field(default_factory=dict)
    tenants: Mapping[str, Phrases] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> Phrases:
        """The tenant's topics (its own table, else the default)."""
        return self.tenants.get(tenant_id, self.default)


class TopicConfig:
    """The topic tables of a file, re-read when its mtime or size changes.

    A bad edit keeps the last good tables (and logs the problem), so a typo in the file never
    takes insights down; `error` tells what is wrong until the file is fixed.
    """

    def __init__(self, path: str | None, tables: TopicTables | None = None) -> None:
        self._path = Path(path) if path else None
        self._tables = tables or TopicTables()
        self._stamp: tuple[int, int] | None = None
        self.error: str | None = None
        if self._path is not None:
            self._tables = parse_topics(self._read())  # fail at start-up, not on first use
            self._stamp = self._stat()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TopicConfig:
        """From C360_TOPICS_FILE (no file: no topics configured)."""
        env = os.environ if env is None else env
        return cls(env.get("C360_TOPICS_FILE") or None)

    def _read(self) -> str:
        path = self._path or Path()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TopicConfigError(f"cannot read topics file {self._path}: {exc.strerror}") from exc

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self._path.stat() if self._path is not None else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st is not None else None

    def tables(self) -> TopicTables:
        """The current tables, reloading the file first if it changed since the last read."""
        stamp = self._stat()
        if self._path is not None and stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self._tables = parse_topics(self._read())
                self.error = None
                log.info("topics_reloaded", tenants=len(self._tables.tenants))
            except TopicConfigError as exc:
                self.error = str(exc)
                log.warning("topics_reload_failed", error=self.error)
        return self._tables

    def for_tenant(self, tenant_id: str) -> Phrases:
        """The tenant's topics, from the file as it is now."""
        return self.tables().for_tenant(tenant_id)
