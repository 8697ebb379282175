"""Per-tenant topic phrase lists from a JSON file (C360_TOPICS_FILE), reloaded on change."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from core.topic_config import Phrases, TopicConfigError, TopicTables, parse_topics
from infra.reload import WatchedFile

__all__ = ["Phrases", "TopicConfig", "TopicConfigError", "TopicTables", "parse_topics"]


class TopicConfig:
    """The topic tables of C360_TOPICS_FILE, watched by infra.reload.WatchedFile: validated
    at start-up, re-read when its mtime or size changes (checked at most every
    `check_seconds`). A bad edit keeps the last good tables and logs `topics_reload_failed`,
    so a typo in the file never takes insights down; `error` tells what is wrong until the
    file is fixed."""

    def __init__(
        self,
        path: str | None,
        tables: TopicTables | None = None,
        *,
        check_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._file = WatchedFile(
            path or None,
            parse_topics,
            tables or TopicTables(),
            name="topics",
            label="topics file",
            check_seconds=check_seconds,
            monotonic=monotonic,
            summary=lambda t: {"tenants": len(t.tenants)},
            error=TopicConfigError,
        )
        self._file.load()  # fail at start-up, not on first use

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TopicConfig:
        """From C360_TOPICS_FILE (no file: no topics configured)."""
        env = os.environ if env is None else env
        return cls(env.get("C360_TOPICS_FILE") or None)

    @property
    def error(self) -> str | None:
        """What is wrong with the file now (None while it loaded)."""
        return self._file.error

    def tables(self) -> TopicTables:
        """The current tables, reloading the file first if it changed since the last check."""
        return self._file.current()

    def for_tenant(self, tenant_id: str) -> Phrases:
        """The tenant's topics, from the file as it is now."""
        return self.tables().for_tenant(tenant_id)
