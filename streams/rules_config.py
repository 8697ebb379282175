"""Per-tenant automation rules from a JSON/TOML file (C360_RULES_FILE), reloaded on change."""

from __future__ import annotations

import json
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from core.rules import (
    KINDS,
    ActivityAction,
    ActivityRule,
    Conditions,
    RuleError,
    RuleSet,
    Template,
    default_rules,
)
from streams.settings import ConfigError

log = structlog.get_logger("c360.rules")
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


def _conditions(doc: Any, where: str, problems: list[str]) -> Conditions:
    if not isinstance(doc, dict):
        problems.append(f"{where}: expected a table of conditions")
        return Conditions()
    _keys(doc, _WHEN, where, problems)
    return Conditions(
        channels=_strings(doc.get("channel"), f"{where}.channel", problems),
        directions=_strings(doc.get("direction"), f"{where}.direction", problems),
        min_duration_seconds=_seconds(doc.get("min_duration_seconds"),
                                      f"{where}.min_duration_seconds", problems),
        max_duration_seconds=_seconds(doc.get("max_duration_seconds"),
                                      f"{where}.max_duration_seconds", problems),
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
    if not isinstance(links, dict) or not set(links) <= {"recording", "transcript"} or not all(
        isinstance(v, bool) for v in links.values()
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
    return ActivityAction(kind=kind, crm=crm, link_recording=links.get("recording", True),
                          link_transcript=links.get("transcript", True), **templates)


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
        _keys(doc, {"id", "when", "create"}, at, problems)
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
        rules.append(ActivityRule(str(rule_id), when, tuple(a for a in actions if a)))
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
    default = _rules(doc["default"], "default", problems) if "default" in doc else (
        fallback.default
    )
    tenants = doc.get("tenants", {})
    if not isinstance(tenants, dict):
        problems.append("tenants: expected a table of tenant id -> list of rules")
        tenants = {}
    parsed = {str(t): _rules(rs, f"tenants.{t}", problems) for t, rs in tenants.items()}
    if problems:
        raise ConfigError("invalid automation rules: " + "; ".join(problems))
    return RuleSet(default=default, tenants=parsed)


def load_rules_file(path: str, fallback: RuleSet) -> RuleSet:
    """Read and validate a rules file (.toml, else JSON); raises ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read rules file {path}: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(text) if path.endswith(".toml") else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"rules file {path} does not parse: {exc}") from exc
    return rules_from_dict(doc, fallback)


@dataclass(slots=True)
class RulesSource:
    """The current rules: reloaded when the file's mtime changes (checked at most every
    `check_seconds`). A bad reload keeps the last good rules and logs why, once per change."""

    path: str | None
    fallback: RuleSet
    check_seconds: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    _rules: RuleSet | None = None
    _stamp: tuple[int, int] | None = None
    _next_check: float = field(default=float("-inf"))

    @classmethod
    def from_env(cls, env: Mapping[str, str], min_call_seconds: int) -> RulesSource:
        """C360_RULES_FILE (unset = the built-in call rule); the file is loaded now, so a
        bad file stops the worker at start-up with the list of problems."""
        return cls.loaded(env.get("C360_RULES_FILE") or None, min_call_seconds)

    @classmethod
    def loaded(cls, path: str | None, min_call_seconds: int) -> RulesSource:
        """The rules file at `path` (None = the built-in call rule), loaded now."""
        source = cls(path, default_rules(min_call_seconds))
        source.load()
        return source

    def load(self) -> RuleSet:
        """Load now; raises ConfigError (used at start-up, when there is no last good)."""
        if self.path is None:
            self._rules = self.fallback
            return self._rules
        stamp = self._file_stamp()
        self._rules = load_rules_file(self.path, self.fallback)
        self._stamp = stamp
        return self._rules

    def current(self) -> RuleSet:
        """The rules to evaluate with now (never raises once loaded)."""
        if self._rules is None:
            return self.load()
        if self.path is None or self.monotonic() < self._next_check:
            return self._rules
        self._next_check = self.monotonic() + self.check_seconds
        try:
            stamp = self._file_stamp()
        except ConfigError as exc:
            if self._stamp is not None:
                log.error("rules_reload_failed", path=self.path, error=str(exc))
                self._stamp = None  # log once; a file that reappears is loaded again
            return self._rules
        if stamp == self._stamp:
            return self._rules
        self._stamp = stamp  # also for a bad file: its problems are logged once, not per call
        try:
            self._rules = load_rules_file(self.path, self.fallback)
        except ConfigError as exc:
            log.error("rules_reload_failed", path=self.path, error=str(exc))
            return self._rules
        log.info("rules_reloaded", path=self.path, tenants=sorted(self._rules.tenants))
        return self._rules

    def _file_stamp(self) -> tuple[int, int]:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ConfigError(f"cannot read rules file {self.path}: {exc.strerror}") from exc
        # mtime_ns + size: two saves within the filesystem's mtime granularity still differ
        # in size most of the time.
        return (st.st_mtime_ns, st.st_size)
