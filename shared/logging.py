"""Structured JSON logs (structlog) with UTC timestamps and context variables, kept small.

Every line is one JSON object carrying `service` and any bound context variables,
whether it comes from our code (structlog) or from a library (standard `logging`,
rendered by the same processors). Where lines go:

- a service started by `fanout stack up` is told a file (`FANOUT_LOG_FILE`) and writes
  it itself through a `RotatingFileHandler`: at `FANOUT_LOG_MAX_BYTES` the file is
  renamed `.1` (older ones shift up to `.FANOUT_LOG_BACKUPS`, the oldest is dropped),
  so a service never holds more than max_bytes × (backups + 1) of logs;
- otherwise a service logs to stdout, for a supervisor (Kubernetes, systemd) to collect
  and rotate; the command line tools log to stderr.

Libraries that log one line per request or query (HTTP clients, the ClickHouse client)
log at DEBUG only: a service at INFO shows its own events, not every ESP call.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import structlog

from shared.settings import CommonSettings

# Loggers that write a line per request or query at INFO (httpx: "HTTP Request: ...",
# clickhouse_connect: codec fallbacks); they speak only when the service runs at DEBUG.
PER_REQUEST_LOGGERS = ("httpx", "httpcore", "urllib3", "clickhouse_connect", "botocore")
# Loggers that are noisy even at DEBUG (aiokafka: every fetch and metadata update).
WARNING_AT_LEAST = ("aiokafka",)

_SHARED = (
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


@dataclass(frozen=True)
class LogFile:
    """A log file a process writes and rotates itself."""

    path: Path
    max_bytes: int
    backups: int

    def handler(self) -> logging.Handler:
        """A size-rotating handler on the file (its folder created)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return logging.handlers.RotatingFileHandler(
            self.path, maxBytes=self.max_bytes, backupCount=self.backups, encoding="utf-8"
        )


def configure_service_logging(service: str, common: CommonSettings) -> None:
    """A service's logging: its rotating file when `common.log_file` is set, else stdout."""
    file = None
    if common.log_file is not None:
        file = LogFile(common.log_file, common.log_max_bytes, common.log_backups)
    configure_logging(service, common.log_level, stream=sys.stdout, file=file)


def configure_logging(
    service: str,
    level: str = "INFO",
    *,
    cache: bool = True,
    stream: TextIO | None = None,
    file: LogFile | None = None,
) -> None:
    """JSON lines into `file` (rotated) or `stream`; every line carries `service` and any
    bound context vars.

    `stream` defaults to stderr; services log to stdout and keep stderr for the one line
    that says why they cannot start. `cache` keeps each module's logger once first used
    (services: no lookup per line); a short-lived command that may run inside another
    program (the CLI under tests) passes False so its configuration never sticks to
    loggers that program uses later.
    """
    number = logging.getLevelName(level.upper())
    handler = file.handler() if file is not None else logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_json_formatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(number)
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(number),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=cache,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _quiet_libraries(number)


def _json_formatter() -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def _quiet_libraries(level: int) -> None:
    per_request = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(per_request)
    for name in WARNING_AT_LEAST:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
