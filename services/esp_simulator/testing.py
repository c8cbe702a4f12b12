"""Run the simulator (or any ASGI app) in-process on a free port, for tests and benchmarks.

async with running_simulator(Settings(webhook_url="")) as base_url:
    ...  # base_url is "http://127.0.0.1:<port>"
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.esp_simulator.app import create_app
from services.esp_simulator.config import Settings


def posting_webhooks(url: str, **knobs: Any) -> Settings:
    """Settings of a simulator that posts its webhooks to `url` in 20 ms batches, seeded so
    its choices repeat; `knobs` set the rest (rates, latency, ...)."""
    defaults: dict[str, Any] = {"seed": 11, "webhook_flush_ms": 20}
    return Settings(webhook_url=url, **(defaults | knobs))


async def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
    """uvicorn ends a failed start (the app's lifespan, say) with SystemExit, which a task
    passes straight to the event loop and which ends a whole test session: make it an
    error of the one caller."""
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        raise RuntimeError(f"uvicorn stopped before it started (exit {exc.code})") from None


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to `port` on `host` (0: a free one), held until it is closed:
    bind it before building an app that must know its own port, and no other test can
    take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@contextlib.asynccontextmanager
async def serving(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lifespan: bool = True,
    sock: socket.socket | None = None,
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on `port` (0 = a free one), or on `sock` (`bound_socket`)
    when given; yield its base URL, then stop it.

    `lifespan=False` serves an app whose lifespan the caller already entered.
    """
    sock = sock or bound_socket(host, port)
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on" if lifespan else "off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(_serve(server, sock), name="uvicorn")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        address, bound = sock.getsockname()[:2]
        yield f"http://{address}:{bound}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def running_simulator(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[str]:
    """The simulator with `settings` (its rate bucket and down window on `clock`), served
    on a free port; yields its base URL."""
    async with serving(create_app(settings or Settings(), clock=clock)) as base_url:
        yield base_url
