"""The dashboard: its own ASGI app, mounted in campaign_api at `/app`.

A sub-application rather than more routes of the API: its answers are HTML pages with
their own error pages (the API's are problem documents), its requests are forms (the
API's are JSON), it has no OpenAPI document, and every route of it depends on the CSRF
check (`web.require_csrf`). It reaches the API in this process through `backend`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.campaign_api.campaigns.stalls import WallClock, utc_now
from services.campaign_api.config import Settings
from services.campaign_api.dashboard import pages
from services.campaign_api.dashboard.backend import ApiProblem, open_backend
from services.campaign_api.dashboard.sessions import SessionStore, session_sealer
from services.campaign_api.dashboard.web import (
    CsrfRefused,
    SignInRequired,
    page,
    require_csrf,
    session_of,
    sign_in_url,
)

STATIC = Path(__file__).parent / "static"
# No inline script or style anywhere: a value that slipped past escaping still cannot run.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """ASGI middleware: every answer of the dashboard carries `HEADERS`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_page(request: Request) -> bool:
    # the page's own script asks for JSON (progress); a browser navigating asks for a page
    return request.method == "GET" and "application/json" not in request.headers.get("accept", "")


async def _on_sign_in(request: Request, _: Exception) -> Response:
    if _wants_page(request):
        return RedirectResponse(sign_in_url(request), status_code=303)
    return JSONResponse({"detail": "sign in again"}, status_code=401)


async def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """An error page, with the navigation when the browser is signed in."""
    session = await session_of(request)
    return page(request, "error.html", session, status, title=title, detail=detail)


async def _on_csrf(request: Request, _: Exception) -> Response:
    detail = "This form has expired or was not sent by this dashboard. Reload the page and retry."
    return await _error_page(request, 403, "Refused", detail)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    if exc.status == 401:  # the session's key stopped working meanwhile
        return await _on_sign_in(request, exc)
    detail = "Nothing here." if exc.status == 404 else exc.detail
    title = "Not found" if exc.status == 404 else "Not possible"
    return await _error_page(request, exc.status, title, detail)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = "Nothing here." if exc.status_code == 404 else str(exc.detail)
    return await _error_page(request, exc.status_code, "Error", detail)


async def _on_invalid(request: Request, _: Exception) -> Response:
    # a malformed id or query in the address: nothing of this account is there
    return await _error_page(request, 404, "Error", "Nothing here.")


async def _on_unexpected(request: Request, _: Exception) -> Response:
    # Starlette logs the error after this answer; the page says nothing of the internals
    detail = "Something went wrong on our side; it was logged. Try again in a moment."
    return page(request, "error.html", None, 500, title="Error", detail=detail)


def create_dashboard(settings: Settings) -> FastAPI:
    """The dashboard app; `open_dashboard` gives it its sessions and API clients."""
    app = FastAPI(
        title="Fanout dashboard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(require_csrf)],
    )
    app.state.dashboard_settings = settings.dashboard
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in pages.ROUTERS:
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _on_sign_in)
    app.add_exception_handler(CsrfRefused, _on_csrf)
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(SecurityHeaders)
    return app


@asynccontextmanager
async def open_dashboard(
    dashboard: FastAPI,
    api: FastAPI,
    pool: asyncpg.Pool,
    settings: Settings,
    clock: WallClock = utc_now,
) -> AsyncIterator[SessionStore]:
    """While open, `dashboard` has its session store and its clients of `api` and of the
    reports API; answers the store (its purge runs beside the API)."""
    chosen = settings.dashboard
    sessions = SessionStore(
        pool,
        session_sealer(settings.common),
        idle=timedelta(seconds=chosen.session_idle_seconds),
        lifetime=timedelta(seconds=chosen.session_max_seconds),
        clock=clock,
    )
    async with open_backend(api, chosen.reports_url, chosen.reports_timeout_seconds) as backend:
        dashboard.state.sessions = sessions
        dashboard.state.backend = backend
        yield sessions
