"""Operations endpoints every service serves: `/healthz`, `/readyz` and `/metrics`.

`/healthz` says the process is alive and nothing more; it is open, for load
balancers and the stack's start-up wait. `/readyz` runs the readiness checks
against the real dependencies and `/metrics` serves Prometheus; both answer only
to the operations token (`Authorization: Bearer <FANOUT_OPS_TOKEN>`), because they
sit on the same port as the public API (webhook_ingest's is open to the internet
for provider webhooks); a refused caller gets the one generic 401 (`shared.auth`).
The readiness body names each check and says `ok` or `unavailable`; why a check
failed goes to the log, never to the caller.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.auth import unauthorized
from shared.http.problems import install_problem_handlers, problem_responses

log = structlog.get_logger(__name__)

ReadinessCheck = Callable[[], Awaitable[Any]]
CHECK_TIMEOUT_S = 5
_bearer = HTTPBearer(auto_error=False, description="The operations token (FANOUT_OPS_TOKEN).")


def ops_token_check(token: str) -> Callable[..., Awaitable[None]]:
    """A dependency answering 401 unless the request carries `Authorization: Bearer <token>`."""
    expected = token.encode()

    async def operations_token(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if credentials is None:
            raise unauthorized("missing operations token")
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise unauthorized("wrong operations token")

    return operations_token


async def _run_check(name: str, check: ReadinessCheck) -> bool:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:
        log.warning("readiness.unavailable", check=name, error=f"{exc.__class__.__name__}: {exc}")
        return False
    return True


def health_router(checks: Mapping[str, ReadinessCheck], *, ops_token: str) -> APIRouter:
    """`/healthz` (open), `/readyz` (each check must pass within 5 s) and `/metrics`, both
    behind `ops_token`."""
    router = APIRouter(tags=["operations"])
    guarded = [Depends(ops_token_check(ops_token))]

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: every dependency answers (operations token)",
        dependencies=guarded,
        responses=problem_responses(401),
    )
    async def readyz() -> JSONResponse:
        results = {name: await _run_check(name, check) for name, check in checks.items()}
        ready = all(results.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": {name: "ok" if ok else "unavailable" for name, ok in results.items()},
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics", summary="Prometheus metrics", include_in_schema=False, dependencies=guarded
    )
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def operations_app(title: str, checks: Mapping[str, ReadinessCheck], *, ops_token: str) -> FastAPI:
    """The whole HTTP side of a worker-only service: its operations endpoints."""
    app = FastAPI(title=title)
    install_problem_handlers(app)
    app.include_router(health_router(checks, ops_token=ops_token))
    return app
