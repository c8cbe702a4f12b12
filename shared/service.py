"""How every service process runs: health endpoints, signals, workers beside uvicorn.

A signal handler only sets the stop event; workers see it, drain, commit and
return; then the HTTP server exits. `/healthz` says the process is alive,
`/readyz` runs the readiness checks against the real dependencies, `/metrics`
serves Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[Any]]
Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    """`/healthz`, `/readyz` (each check must pass within 5 s) and `/metrics`."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers")
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        ready = True
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=5)
                results[name] = "ok"
            except Exception as exc:
                ready = False
                results[name] = f"unavailable: {exc.__class__.__name__}: {exc}"[:300]
        body = {"status": "ready" if ready else "not ready", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the stop event drives shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop`; nothing else happens in the handler."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the per-message path.

    Once the process has started, everything allocated so far (modules, pydantic
    schemas, routes: ~100k+ objects) is moved out of the collector's sight
    (`gc.freeze`), and a young collection runs every 50,000 net allocations instead of
    700. Measured: decoding a 50-recipient SendBatch next to a large live heap took
    443 µs with the default collector against 153 µs without collections; py-spy put
    pydantic decoding at 11% of the sender although it costs ~2 µs per recipient alone.
    Reference counting still frees almost everything at once; cycles are still collected.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, gen1, gen2)


async def serve(
    app: FastAPI, *, host: str, port: int, workers: list[Worker], stop: asyncio.Event
) -> None:
    """Run the HTTP app and the workers until `stop` is set or a worker fails."""
    tune_gc()
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    server = _Server(config)
    server_task = asyncio.create_task(server.serve(), name="http")
    worker_tasks: list[asyncio.Task[None]] = [
        asyncio.create_task(w(stop), name=getattr(w, "__name__", "worker")) for w in workers
    ]
    stop_task = asyncio.create_task(stop.wait(), name="stop")
    pending = {server_task, stop_task, *worker_tasks}
    done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    failure: BaseException | None = None
    for task in done:
        if task is not stop_task and not task.cancelled() and task.exception() is not None:
            failure = task.exception()
            log.error("service.task_failed", task=task.get_name(), error=repr(failure))
    if worker_tasks:
        _, late = await asyncio.wait(worker_tasks, timeout=30)
        for task in late:
            task.cancel()
    server.should_exit = True
    await server_task
    if failure is not None:
        raise failure
