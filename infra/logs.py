"""One log pipeline per process: structlog and stdlib logging, one renderer, real levels."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

# The logger confluent-kafka hands librdkafka's lines to (its `logger` config key, set by
# infra.kafka_config on every client).
LIBRDKAFKA = "librdkafka"
# librdkafka repeats a failing connection's error many times a second: one line per
# (facility, text without numbers) per window, with the count of those it held back.
LIBRDKAFKA_WINDOW_S = 30.0
# Fields stdlib records may carry as `extra` that the renderer should show.
_EXTRAS = ("facility", "client", "broker_thread", "suppressed")
_THREAD = re.compile(r"^\[thrd:([^\]]*)\]: ")


def _level(level: str) -> int:
    return logging.getLevelNamesMapping().get(level.upper(), logging.INFO)


def _shared() -> list[structlog.typing.Processor]:
    """What both structlog events and stdlib records get before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(log_format: str = "json") -> logging.Formatter:
    """The renderer of every record: structlog's own events (already a dict) and stdlib
    records (Faust, mode, aiokafka, aiohttp, librdkafka) alike; JSON lines, or console."""
    renderer: structlog.typing.Processor
    tail: list[structlog.typing.Processor] = [structlog.processors.StackInfoRenderer()]
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        tail.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *_shared(),
            structlog.stdlib.ExtraAdder(allow=_EXTRAS),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *tail,
            renderer,
        ],
    )


def handler(log_format: str = "json") -> logging.Handler:
    """The one handler of the root logger: the process's stderr, through `formatter`."""
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(formatter(log_format))
    return out


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Configure structlog and the root logger once per process: structlog's events go to
    stdlib logging (so their level is a record's level, never wrapped in another logger's
    line) and every record leaves through the one handler."""
    structlog.configure(
        processors=[
            *_shared(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(_level(level)),
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(_level(level))
    # aiohttp logs every request at INFO: a record per read on the query path is a cost
    # the read p99 pays (docs/performance.md), and /metrics counts requests already. The
    # lines come out at C360_LOG_LEVEL=DEBUG; aiohttp's errors always do.
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.DEBUG if _level(level) <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)


def dict_config(log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """The same root handler as a logging.config dict, for frameworks that (re)configure
    logging themselves: Faust's worker hands it to dictConfig instead of its own colour
    handler (streams/app.py), so its records and ours share the renderer."""
    factory: Callable[[], logging.Handler] = lambda: handler(log_format)  # noqa: E731
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"c360": {"()": factory}},
        "root": {"level": _level(level), "handlers": ["c360"]},
        # The worker's "Ready" line is how supervisors (`c360 dev up`) tell it is up: kept
        # at INFO whatever C360_LOG_LEVEL says.
        "loggers": {"faust.worker": {"level": "INFO"}},
    }


_NUMBERS = re.compile(r"\d+")


class RepeatFilter(logging.Filter):
    """Lets one record per (facility, text without numbers) through per window and drops
    the repeats, counting them; the next one through says how many were held back
    (`suppressed`). Also turns librdkafka's "%s [%s] %s" lines into fields: `facility`,
    `client`, `broker_thread` (its "[thrd:...]" prefix) and the rest of the text as the
    event."""

    def __init__(
        self, window_s: float = LIBRDKAFKA_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()  # librdkafka may log from its own threads
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether `record` goes out (rewritten as fields), or is a counted repeat."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 3:  # fac, client, text
            facility, client, text = (str(a) for a in args)
            thread = _THREAD.match(text)
            if thread:
                record.broker_thread, text = thread.group(1), text[thread.end() :]
            record.msg, record.args = text, ()
            record.facility, record.client = facility, client
        else:
            facility, text = record.name, record.getMessage()
        key = (facility, _NUMBERS.sub("#", text))
        now = self._clock()
        with self._lock:
            if len(self._seen) > 1024:  # bounded memory: repeats are few
                self._seen.clear()
            last, held = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.window_s:
                self._seen[key] = (last, held + 1)
                return False
            self._seen[key] = (now, 0)
        if held:
            record.suppressed = held
        return True


_librdkafka_lock = threading.Lock()


def librdkafka_logger() -> logging.Logger:
    """The logger every confluent-kafka client gets (its `logger` config key), with the
    repeat filter on it once: librdkafka's lines become records with their syslog level
    mapped to logging's, rate-limited, rendered like the rest (or, in a tool that set up no
    logging, printed by logging's last-resort handler from WARNING up)."""
    logger = logging.getLogger(LIBRDKAFKA)
    with _librdkafka_lock:
        if not any(isinstance(f, RepeatFilter) for f in logger.filters):
            logger.addFilter(RepeatFilter())
    return logger
