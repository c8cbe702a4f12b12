"""Structured JSON logs (structlog) with UTC timestamps and context variables."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(service: str, level: str = "INFO", *, cache: bool = True) -> None:
    """JSON lines on stderr; every line carries `service` and any bound context vars.

    `cache` keeps each module's logger once first used (services: no lookup per line); a
    short-lived command that may run inside another program (the CLI under tests) passes
    False so its configuration never sticks to loggers that program uses later.
    """
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=cache,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.getLogger("aiokafka").setLevel(
        max(logging.WARNING, logging.getLevelName(level.upper()))
    )
