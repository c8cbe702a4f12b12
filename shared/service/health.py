"""Operations endpoints every service serves: `/healthz`, `/readyz` and `/metrics`.

`/healthz` says the process is alive, `/readyz` runs the readiness checks
against the real dependencies, `/metrics` serves Prometheus. A check that
returns a string (a consumer's state: "fetching, 12 partitions, last progress
0 s ago") has it shown after "ok"; one that raises makes the service not ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[Any]]


def health_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
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
                detail = await asyncio.wait_for(check(), timeout=5)
                results[name] = f"ok: {detail}" if isinstance(detail, str) else "ok"
            except Exception as exc:
                ready = False
                results[name] = f"unavailable: {exc.__class__.__name__}: {exc}"[:300]
        body = {"status": "ready" if ready else "not ready", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def operations_app(title: str, checks: Mapping[str, ReadinessCheck]) -> FastAPI:
    """The whole HTTP side of a worker-only service: its operations endpoints."""
    app = FastAPI(title=title)
    app.include_router(health_router(checks))
    return app
