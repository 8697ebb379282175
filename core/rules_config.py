"""Tenant automation rules documents (C360_RULES_FILE, JSON or TOML) parsed into a RuleSet."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from typing import Any

from core.errors import ConfigError
from core.rules import (
    KINDS,
    ActivityAction,
    ActivityRule,
    Conditions,
    RuleError,
    RuleSet,
    Template,
)
from core.triggers import DEFAULT_ON, TRIGGERS

_WHEN = {"channel", "direction", "min_duration_seconds", "max_duration_seconds",
         "disposition", "queue", "outcome"}  # fmt: skip
_ACTION = {"kind", "subject", "body", "crm", "email_thread_url", "links"}


def _keys(doc: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    for key in sorted(set(doc) - allowed):
        problems.append(f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _strings(value: Any, where: str, problems: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        problems.append(f"{where}: expected a string or a list of non-empty strings")
        return frozenset()
    return frozenset(items)


def _seconds(value: Any, where: str, problems: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{where}: expected a non-negative integer, got {value!r}")
        return None
    return value


def _template(value: Any, where: str, problems: list[str]) -> Template | None:
    if not isinstance(value, str):
        problems.append(f"{where}: expected a string template")
        return None
    try:
        return Template.of(value)
    except RuleError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _triggers(value: Any, where: str, problems: list[str]) -> frozenset[str]:
    if value is None:
        return DEFAULT_ON
    names = _strings(value, where, problems)
    if isinstance(value, list) and not value:
        problems.append(f"{where}: expected at least one trigger ({', '.join(TRIGGERS)})")
    for name in sorted(names - set(TRIGGERS)):
        problems.append(f"{where}: unknown trigger {name!r} (known: {', '.join(TRIGGERS)})")
    return (names & set(TRIGGERS)) or DEFAULT_ON


def _conditions(doc: Any, where: str, problems: list[str]) -> Conditions:
    if not isinstance(doc, dict):
        problems.append(f"{where}: expected a table of conditions")
        return Conditions()
    _keys(doc, _WHEN, where, problems)
    return Conditions(
        channels=_strings(doc.get("channel"), f"{where}.channel", problems),
        directions=_strings(doc.get("direction"), f"{where}.direction", problems),
        min_duration_seconds=_seconds(
            doc.get("min_duration_seconds"), f"{where}.min_duration_seconds", problems
        ),
        max_duration_seconds=_seconds(
            doc.get("max_duration_seconds"), f"{where}.max_duration_seconds", problems
        ),
        dispositions=_strings(doc.get("disposition"), f"{where}.disposition", problems),
        queues=_strings(doc.get("queue"), f"{where}.queue", problems),
        outcomes=_strings(doc.get("outcome"), f"{where}.outcome", problems),
    )


def _action(doc: Any, where: str, problems: list[str]) -> ActivityAction | None:
    if not isinstance(doc, dict):
        problems.append(f"{where}: expected a table with at least 'kind'")
        return None
    _keys(doc, _ACTION, where, problems)
    kind = doc.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        return None
    links = doc.get("links", {})
    if (
        not isinstance(links, dict)
        or not set(links) <= {"recording", "transcript"}
        or not all(isinstance(v, bool) for v in links.values())
    ):
        problems.append(f"{where}.links: expected {{recording: bool, transcript: bool}}")
        links = {}
    crm = doc.get("crm")
    if crm is not None and (not isinstance(crm, str) or not crm):
        problems.append(f"{where}.crm: expected a CRM name")
        crm = None
    templates: dict[str, Any] = {}
    for name in ("subject", "body", "email_thread_url"):
        if name in doc:
            template = _template(doc[name], f"{where}.{name}", problems)
            if template is not None:
                templates[name] = template
    return ActivityAction(
        kind=kind,
        crm=crm,
        link_recording=links.get("recording", True),
        link_transcript=links.get("transcript", True),
        **templates,
    )


def _rules(docs: Any, where: str, problems: list[str]) -> tuple[ActivityRule, ...]:
    if not isinstance(docs, list):
        problems.append(f"{where}: expected a list of rules")
        return ()
    rules, seen = [], set()
    for n, doc in enumerate(docs):
        at = f"{where}[{n}]"
        if not isinstance(doc, dict):
            problems.append(f"{at}: expected a table with 'id', 'when' and 'create'")
            continue
        _keys(doc, {"id", "on", "when", "create"}, at, problems)
        rule_id = doc.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            problems.append(f"{at}.id: required, a non-empty string")
        elif rule_id in seen:
            problems.append(f"{at}.id: duplicate rule id {rule_id!r}")
        seen.add(rule_id)
        when = _conditions(doc.get("when", {}), f"{at}.when", problems)
        creates = doc.get("create")
        if not isinstance(creates, list) or not creates:
            problems.append(f"{at}.create: required, a non-empty list of activities")
            creates = []
        actions = [_action(a, f"{at}.create[{i}]", problems) for i, a in enumerate(creates)]
        on = _triggers(doc.get("on"), f"{at}.on", problems)
        rules.append(ActivityRule(str(rule_id), when, tuple(a for a in actions if a), on))
    return tuple(rules)


def rules_from_dict(doc: Any, fallback: RuleSet) -> RuleSet:
    """Validate a rules document; raises ConfigError listing every problem with its path.

    `default` replaces the built-in rules when present; a tenant listed under `tenants`
    uses its own list instead of the default (an empty list turns automation off for it).
    """
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ConfigError("rules file: expected a table with 'default' and/or 'tenants'")
    _keys(doc, {"default", "tenants"}, "rules", problems)
    default = (
        _rules(doc["default"], "default", problems) if "default" in doc else (fallback.default)
    )
    tenants = doc.get("tenants", {})
    if not isinstance(tenants, dict):
        problems.append("tenants: expected a table of tenant id -> list of rules")
        tenants = {}
    parsed = {str(t): _rules(rs, f"tenants.{t}", problems) for t, rs in tenants.items()}
    if problems:
        raise ConfigError("invalid automation rules: " + "; ".join(problems))
    return RuleSet(default=default, tenants=parsed)


def parse_rules(text: str, fallback: RuleSet, *, toml: bool = False, source: str = "") -> RuleSet:
    """Parse a rules file's text (TOML when `toml`, else JSON); raises ConfigError naming the
    line and column of a syntax error, or the path of every invalid field."""
    where = f"rules file {source}" if source else "rules file"
    try:
        doc = tomllib.loads(text) if toml else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where} does not parse: {exc}") from exc
    return rules_from_dict(doc, fallback)
