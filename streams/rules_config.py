"""Per-tenant automation rules from a JSON/TOML file (C360_RULES_FILE), reloaded on change."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from core.rules import RuleSet, default_rules
from core.rules_config import parse_rules, rules_from_dict
from infra.reload import WatchedFile, read_config_text

__all__ = ["RulesSource", "load_rules_file", "rules_from_dict"]
_LABEL = "rules file"


def _parser(path: str | None, fallback: RuleSet) -> Callable[[str], RuleSet]:
    toml = bool(path and path.endswith(".toml"))
    return lambda text: parse_rules(text, fallback, toml=toml, source=path or "")


def load_rules_file(path: str, fallback: RuleSet) -> RuleSet:
    """Read and validate a rules file (.toml, else JSON); raises ConfigError."""
    return _parser(path, fallback)(read_config_text(path, _LABEL))


class RulesSource:
    """The current rules: C360_RULES_FILE watched by infra.reload.WatchedFile (stat'ed at
    most every `check_seconds`; a bad edit or a vanished file keeps the last good rules and
    logs `rules_reload_failed` once per change). No file: the built-in call rule."""

    def __init__(
        self,
        path: str | None,
        fallback: RuleSet,
        check_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.fallback = fallback
        self._file = WatchedFile(
            path,
            _parser(path, fallback),
            fallback,
            name="rules",
            label=_LABEL,
            check_seconds=check_seconds,
            monotonic=monotonic,
            summary=lambda rules: {"tenants": sorted(rules.tenants)},
        )

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
        return self._file.load()

    def current(self) -> RuleSet:
        """The rules to evaluate with now (never raises once loaded)."""
        return self._file.current()
