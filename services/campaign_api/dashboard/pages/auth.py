"""Sign-in with an API key (it becomes a session), sign-out, and the dashboard's root."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.campaign_api.dashboard.web import (
    PREFIX,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_PATH,
    OptionalSession,
    form_data,
    page,
    safe_next,
    set_cookie,
    settings,
    store,
)

router = APIRouter()
SIGN_IN_FORM_S = 1800  # how long a sign-in form stays valid
NextPath = Annotated[str | None, Query(alias="next", max_length=2000)]


def _form(request: Request, next_path: str, error: str = "", status_code: int = 200) -> Response:
    """The sign-in form, with a fresh token bound to a cookie of its own."""
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "sign_in.html",
        None,
        status_code,
        title="Sign in",
        sign_in_token=token,
        next_path=next_path,
        error=error,
    )
    set_cookie(response, request, SIGN_IN_COOKIE, token, path=SIGN_IN_PATH, max_age=SIGN_IN_FORM_S)
    return response


@router.get("/")
async def root(session: OptionalSession) -> RedirectResponse:
    """The campaigns once signed in, else the sign-in form."""
    return RedirectResponse(f"{PREFIX}/campaigns" if session else SIGN_IN_PATH, status_code=303)


@router.get("/sign-in")
async def sign_in_form(
    request: Request, session: OptionalSession, next_path: NextPath = None
) -> Response:
    """The sign-in form (or, when signed in already, where it would lead)."""
    if session is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _form(request, safe_next(next_path))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Trade an API key for a session: a new session id every time (a session id set
    before is dropped, never reused), the key kept sealed on the server only."""
    form = await form_data(request)
    next_path = safe_next(form.get("next"))
    opened = await store(request).sign_in(form.get("api_key", ""))
    if opened is None:
        error = "That API key was not accepted. Check it, or make one: fanout account create."
        return _form(request, next_path, error, 401)
    token, _ = opened
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await store(request).close(old)
    response = RedirectResponse(next_path, status_code=303)
    max_age = int(settings(request).session_max_seconds)
    set_cookie(response, request, SESSION_COOKIE, token, path=PREFIX, max_age=max_age)
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session on the server (the cookie alone opens nothing any more)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await store(request).close(token)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response
