"""structlog set-up for the streams process: context vars first, JSON in prod."""

from __future__ import annotations

import logging

import structlog


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Configure structlog once per process (JSON lines, or console when developing)."""
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level, logging.INFO)
        ),
        cache_logger_on_first_use=True,
    )
