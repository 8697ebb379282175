"""infra/logs.py: one renderer for structlog's events and stdlib records, real levels, and
librdkafka's repeats held back."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
import structlog

from infra.kafka_config import KafkaEndpoint, admin_config, producer_config
from infra.logs import (
    LIBRDKAFKA,
    RepeatFilter,
    configure_logging,
    dict_config,
    formatter,
    librdkafka_logger,
)


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, restored after the test (configure_logging replaces its handler)."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)
    structlog.reset_defaults()


def _capture(logger: logging.Logger, log_format: str = "json") -> io.StringIO:
    out = io.StringIO()
    stream = logging.StreamHandler(out)
    stream.setFormatter(formatter(log_format))
    logger.handlers[:] = [stream]
    return out


def test_structlog_events_and_stdlib_records_share_the_renderer_with_their_level(
    root: logging.Logger,
) -> None:
    configure_logging("json", "INFO")
    out = _capture(root)
    structlog.get_logger("c360.test").info("profile_upserted", status="created")
    structlog.get_logger("c360.test").debug("not_shown")
    logging.getLogger("faust.worker").info("[^Worker]: Ready")
    logging.getLogger("aiohttp.server").error("Error handling request", exc_info=ValueError("x"))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["event"], r["level"], r["logger"]) for r in records] == [
        ("profile_upserted", "info", "c360.test"),
        ("[^Worker]: Ready", "info", "faust.worker"),
        ("Error handling request", "error", "aiohttp.server"),
    ]
    assert records[0]["status"] == "created"
    assert "ValueError" in records[2]["exception"]
    assert all("timestamp" in r for r in records)


def test_console_rendering_names_the_level_once(root: logging.Logger) -> None:
    configure_logging("console", "INFO")
    out = _capture(root, "console")
    structlog.get_logger("c360.test").warning("dead_lettered", kind="invalid")
    line = out.getvalue()
    assert "[warning  ] dead_lettered" in line
    assert "WARNING" not in line


def test_the_dict_config_installs_the_same_handler_for_faust(root: logging.Logger) -> None:
    """What Faust's worker hands to dictConfig (streams/app.py), applied twice as mode may."""
    config = dict_config("json", "WARNING")
    for _ in range(2):
        logging.config.dictConfig(config)
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, structlog.stdlib.ProcessorFormatter)
        assert root.level == logging.WARNING


def test_access_lines_only_at_debug(root: logging.Logger) -> None:
    """aiohttp's per-request lines cost the read path; they come out at DEBUG only."""
    configure_logging("json", "INFO")
    assert not logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)
    configure_logging("json", "DEBUG")
    assert logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)


def _librdkafka(text: str, facility: str = "FAIL") -> logging.LogRecord:
    # What confluent-kafka calls: logger.log(level, "%s [%s] %s", fac, client, text).
    return logging.LogRecord(
        LIBRDKAFKA, logging.ERROR, "", 0, "%s [%s] %s", (facility, "c360#producer-1", text), None
    )


def test_repeats_are_held_back_per_window_and_counted() -> None:
    now = [100.0]
    repeat = RepeatFilter(window_s=10, clock=lambda: now[0])
    refused = "[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after {n}ms in state CONNECT)"  # noqa: E501
    first = _librdkafka(refused.format(n=0))
    assert repeat.filter(first)
    assert first.getMessage().startswith("127.0.0.1:9092/bootstrap: Connect to")
    assert (first.facility, first.client) == ("FAIL", "c360#producer-1")  # type: ignore[attr-defined]
    assert first.broker_thread == "127.0.0.1:9092/bootstrap"  # type: ignore[attr-defined]
    # The same line with other numbers, many times within the window: held back.
    for n in range(1, 40):
        now[0] += 0.2
        assert not repeat.filter(_librdkafka(refused.format(n=n)))
    # Another kind of line is not a repeat of it.
    assert repeat.filter(_librdkafka("Metadata request failed", facility="ERROR"))
    now[0] = 111.0
    later = _librdkafka(refused.format(n=7))
    assert repeat.filter(later)
    assert later.suppressed == 39  # type: ignore[attr-defined]


def test_every_client_config_logs_through_the_filtered_logger() -> None:
    endpoint = KafkaEndpoint("127.0.0.1:9092")
    for config in (producer_config(endpoint, "c"), admin_config(endpoint, "c")):
        assert config["logger"] is librdkafka_logger()
        assert config["log.connection.close"] is False
    filters = [f for f in logging.getLogger(LIBRDKAFKA).filters if isinstance(f, RepeatFilter)]
    assert len(filters) == 1
