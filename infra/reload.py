"""Tenant configuration files re-read on change (mtime + size), one failure policy for all."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

import structlog

from core.errors import ConfigError

log = structlog.get_logger("c360.reload")
T = TypeVar("T")
Stamp = tuple[int, int]


def read_config_text(path: str, label: str, error: type[ConfigError] = ConfigError) -> str:
    """The file's text; `error` ("cannot read <label> <path>: <reason>") if it cannot."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {label} {path}: {exc.strerror}") from exc


def _stamp(path: str, label: str, error: type[ConfigError]) -> Stamp:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(f"cannot read {label} {path}: {exc.strerror}") from exc
    # mtime_ns + size: two saves within the filesystem's mtime granularity still differ in
    # size most of the time.
    return (st.st_mtime_ns, st.st_size)


class WatchedFile(Generic[T]):
    """The config parsed from a file (`parse`: text -> frozen config, raising ConfigError),
    re-read when the file's mtime or size changes. The policy, the same for every file:

    - no path: `default`, and the disk is never looked at;
    - at start-up (`load`, also on first use): the file must be readable and valid, else
      ConfigError with every problem, so a worker with a broken file does not start;
    - afterwards the file is stat'ed at most every `check_seconds`. A change is parsed and
      swapped in (`<name>_reloaded`); a bad edit or a vanished file keeps the last good
      config and logs `<name>_reload_failed` (level error) once per change, and `error`
      says what is wrong until the file is fixed; a file that reappears is loaded again.
    """

    def __init__(
        self,
        path: str | None,
        parse: Callable[[str], T],
        default: T,
        *,
        name: str,
        label: str,
        check_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        summary: Callable[[T], Mapping[str, object]] = lambda _config: {},
        error: type[ConfigError] = ConfigError,
    ) -> None:
        self.path = path
        self._parse = parse
        self._default = default
        self._name = name
        self._label = label
        self._check_seconds = check_seconds
        self._monotonic = monotonic
        self._summary = summary
        self._error = error  # raised for an unreadable file (the parser raises its own)
        self._config: T | None = None
        self._stamp: Stamp | None = None
        self._next_check = float("-inf")
        self.error: str | None = None

    def load(self) -> T:
        """Load now; raises ConfigError (start-up, when there is no last good config)."""
        if self.path is None:
            self._config = self._default
            return self._config
        stamp = _stamp(self.path, self._label, self._error)
        self._config = self._parse(read_config_text(self.path, self._label, self._error))
        self._stamp, self.error = stamp, None
        return self._config

    def current(self) -> T:
        """The config to use now (never raises once loaded)."""
        if self._config is None:
            return self.load()
        if self.path is None or self._monotonic() < self._next_check:
            return self._config
        self._next_check = self._monotonic() + self._check_seconds
        try:
            stamp = _stamp(self.path, self._label, self._error)
        except ConfigError as exc:
            if self._stamp is not None:
                self._failed(exc)
                self._stamp = None  # log once; a file that reappears is loaded again
            return self._config
        if stamp == self._stamp:
            return self._config
        self._stamp = stamp  # also for a bad file: its problems are logged once, not per call
        try:
            self._config = self._parse(read_config_text(self.path, self._label, self._error))
        except ConfigError as exc:
            self._failed(exc)
            return self._config
        self.error = None
        log.info(f"{self._name}_reloaded", path=self.path, **self._summary(self._config))
        return self._config

    def _failed(self, exc: ConfigError) -> None:
        self.error = str(exc)
        log.error(f"{self._name}_reload_failed", path=self.path, error=self.error)
