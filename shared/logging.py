"""Structured JSON logs (structlog) with UTC timestamps and context variables."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure_logging(
    service: str, level: str = "INFO", *, cache: bool = True, stream: TextIO | None = None
) -> None:
    """JSON lines on `stream`; every line carries `service` and any bound context vars.

    `stream` defaults to stderr; services log to stdout and keep stderr for the one line
    that says why they cannot start. `cache` keeps each module's logger once first used
    (services: no lookup per line); a short-lived command that may run inside another
    program (the CLI under tests) passes False so its configuration never sticks to
    loggers that program uses later.
    """
    stream = stream or sys.stderr
    logging.basicConfig(format="%(message)s", stream=stream, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=cache,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.getLogger("aiokafka").setLevel(
        max(logging.WARNING, logging.getLevelName(level.upper()))
    )
