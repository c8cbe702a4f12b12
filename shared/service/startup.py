"""One start-up path for every service process.

    python -m services.<name>
      settings (parsed, secrets checked) → logging (JSON lines on stdout, or the rotated
        FANOUT_LOG_FILE) → the HTTP port bound
        → the service's resources opened on one AsyncExitStack (pools, producers, ...)
        → the app's lifespan entered → HTTP and workers until SIGTERM/SIGINT
        → everything closed in reverse order

A service is declared as its settings class and a `start` function that opens
its resources on the stack and returns what runs: the HTTP app (with its
health checks) and the workers. A setting that is invalid or a secret that is
missing or a known default (`InvalidSetting`, before anything is opened), or a
dependency that cannot be reached (`DependencyUnavailable`, at start-up or
raised by a worker) ends the process with exactly one line on stderr naming the
service, what is wrong and the setting to change; exit code 2, no traceback.
Logs go to stdout (or to the log file the stack names, `shared.logging`), so
that line is all a person starting the service by hand sees on stderr.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

import structlog
from fastapi import FastAPI

from shared.db import name_connections
from shared.errors import StartupRefused
from shared.logging import configure_service_logging
from shared.service.configuration import load_settings
from shared.service.serve import Worker, bound_socket, install_stop_signals, serve
from shared.settings import ServiceSettings, env_name

log = structlog.get_logger(__name__)

S = TypeVar("S", bound=ServiceSettings)
EXIT_UNAVAILABLE = 2


@dataclass
class Started:
    """What a started service runs: its HTTP app (health checks included) and workers."""

    app: FastAPI
    workers: list[Worker] = field(default_factory=list)


Start = Callable[[S, AsyncExitStack], Awaitable[Started]]


def run_service(name: str, settings: type[S], start: Start[S]) -> None:
    """The whole of `python -m services.<name>`: run until stopped, or exit 2 on a
    refused setting or a missing dependency."""
    try:
        config = load_settings(settings)
    except StartupRefused as exc:
        _refuse(name, exc)
    configure_service_logging(name, config.common)
    name_connections(f"fanout-{name}")
    try:
        with asyncio.Runner(loop_factory=_loop_factory(config.common.event_loop)) as runner:
            runner.run(_run(config, start))
    except StartupRefused as exc:
        log.error("service.dependency_unavailable", error=str(exc), setting=exc.setting)
        _refuse(name, exc)


def _loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """`FANOUT_EVENT_LOOP`: None for asyncio's own loop, else uvloop's."""
    if kind != "uvloop":
        return None
    import uvloop  # noqa: PLC0415 - only where it is asked for

    return uvloop.new_event_loop


def _refuse(name: str, exc: StartupRefused) -> NoReturn:
    sys.stderr.write(f"{name} cannot start: {exc}\n")
    sys.exit(EXIT_UNAVAILABLE)


async def _run(settings: S, start: Start[S]) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop)
    async with AsyncExitStack() as stack:
        port_setting = env_name(settings, "port")
        sock = stack.enter_context(bound_socket(settings.host, settings.port, port_setting))
        started = await start(settings, stack)
        app = started.app
        await stack.enter_async_context(app.router.lifespan_context(app))
        await serve(app, sock=sock, workers=started.workers, stop=stop)
