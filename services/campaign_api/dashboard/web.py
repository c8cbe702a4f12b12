"""What every dashboard page shares: the session, CSRF, the API calls and rendering.

Pages are Jinja2 templates with autoescaping on (`StrictUndefined`: a missing value is an
error, never an empty string); nothing a lead, a template or a provider supplied is ever
marked safe. Every state-changing request (every method but GET and HEAD) must carry
the session's CSRF token, as the form field `csrf_token` or the header `X-CSRF-Token`;
the sign-in form, which has no session yet, carries a token bound to a short-lived
cookie of its own (double submit). `require_csrf` is a dependency of the whole
dashboard app, so a route added later is covered without a line of its own.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse

from services.campaign_api.dashboard.backend import Backend, Calls
from services.campaign_api.dashboard.sessions import Session, SessionStore
from services.campaign_api.dashboard.settings import DashboardSettings

PREFIX = "/app"
SESSION_COOKIE = "fanout_session"
SIGN_IN_COOKIE = "fanout_sign_in"  # the sign-in form's own CSRF token (no session yet)
SIGN_IN_PATH = f"{PREFIX}/sign-in"
SIGN_OUT_PATH = f"{PREFIX}/sign-out"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(iso: str | None) -> str:
    """An API time (ISO 8601, UTC) as the pages show it: `2026-12-02 09:30:05 UTC`."""
    return f"{iso[:19].replace('T', ' ')} UTC" if iso else "—"


templates.filters["when"] = _when


class SignInRequired(Exception):
    """No live session: pages redirect to the sign-in form, scripts get 401."""


class CsrfRefused(Exception):
    """A state-changing request without the right CSRF token (403)."""


def store(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.state.sessions
    return sessions


def settings(request: Request) -> DashboardSettings:
    chosen: DashboardSettings = request.app.state.dashboard_settings
    return chosen


async def session_of(request: Request) -> Session | None:
    """The request's live session, if any."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    return await store(request).find(token)


OptionalSession = Annotated[Session | None, Depends(session_of)]


async def _session(session: OptionalSession) -> Session:
    if session is None:
        raise SignInRequired
    return session


CurrentSession = Annotated[Session, Depends(_session)]


async def _calls(request: Request, session: CurrentSession) -> Calls:
    backend: Backend = request.app.state.backend
    return backend.acting_as(session.api_key)


ApiCalls = Annotated[Calls, Depends(_calls)]


async def form_data(request: Request) -> dict[str, str]:
    """The request's form fields (text ones; the last value of a repeated name)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    form = await request.form()  # cached by Starlette: the route reads the same form
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def require_csrf(request: Request, session: OptionalSession) -> None:
    """Refuse (403) a state-changing request without the right token. Every route of the
    dashboard depends on this (the app's own dependency)."""
    if request.method in SAFE_METHODS:
        return
    if session is None and request.url.path == SIGN_OUT_PATH:
        return  # no session to end: signing out changes nothing
    given = request.headers.get(CSRF_HEADER) or (await form_data(request)).get(CSRF_FIELD)
    if request.url.path == SIGN_IN_PATH:
        expected = request.cookies.get(SIGN_IN_COOKIE)
    else:
        expected = session.csrf_token if session is not None else None
    if not _same(given, expected):
        raise CsrfRefused


def is_secure(request: Request) -> bool:
    """Whether the session cookie is Secure: over TLS, or always when so configured."""
    return settings(request).secure_cookie == "always" or request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, path: str, max_age: int
) -> None:
    """A cookie only this site's pages send back, scripts cannot read, TLS-only over TLS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="strict" if name == SIGN_IN_COOKIE else "lax",
        secure=is_secure(request),
    )


def page(
    request: Request,
    name: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Template `name` rendered with `context`, the session's CSRF token and the nav."""
    shared = {
        "request_path": request.url.path,
        "signed_in": session is not None,
        "csrf_token": session.csrf_token if session is not None else "",
        "prefix": PREFIX,
    }
    clash = shared.keys() & context.keys()
    if clash:
        raise ValueError(f"page context names {sorted(clash)} are the layout's own")
    html = templates.get_template(name).render(**shared, **context)
    return HTMLResponse(html, status_code=status_code)


def sign_in_url(request: Request) -> str:
    """The sign-in form, coming back to this page (a path of the dashboard only) after."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN_PATH}?next={quote(back, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path, never another site (`//evil`)."""
    if value and value.startswith(f"{PREFIX}/") and "\\" not in value:
        return value
    return f"{PREFIX}/campaigns"
