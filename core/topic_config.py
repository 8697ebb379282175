"""Per-tenant topic phrase lists (C360_TOPICS_FILE, JSON) parsed into frozen tables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import ConfigError

Phrases = Mapping[str, tuple[str, ...]]  # topic name -> phrases

# File shape: {"default": {"Billing": ["invoice", "charged twice"]},
#              "tenants": {"acme": {"Refund": ["refund", "money back"]}}}
# A tenant's own table replaces the default one entirely (admins list what they want shown).


class TopicConfigError(ConfigError):
    """The topics file is unreadable or invalid; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class TopicTables:
    """Parsed topic tables: a default and per-tenant overrides."""

    default: Phrases = field(default_factory=dict)
    tenants: Mapping[str, Phrases] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> Phrases:
        """The tenant's topics (its own table, else the default)."""
        return self.tenants.get(tenant_id, self.default)


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
    """Parse the file's text; raises TopicConfigError naming the line and column of a syntax
    error, or listing every invalid field with its path."""
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
