"""Helpers of the dashboard's tests: signing in as a browser does, the CSRF tokens of a
page, the dashboard's state-changing routes, and the hostile lead whose data every page
must show as text."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from markupsafe import escape
from starlette.routing import Mount

from services.campaign_api.dashboard.web import CSRF_FIELD, PREFIX, SAFE_METHODS

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
HOSTILE_LEAD: dict[str, Any] = {
    "first_name": SCRIPT,
    "last_name": IMG,
    "attributes": {"note": SCRIPT},
}
_HIDDEN = re.compile(rf'name="{CSRF_FIELD}" value="([^"]*)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


def hidden_token(page: str) -> str:
    """The CSRF token of the first form of `page`."""
    found = _HIDDEN.search(page)
    assert found, "no CSRF field in the page"
    return found.group(1)


def meta_token(page: str) -> str:
    """The session's CSRF token as a page gives it to its script."""
    found = _META.search(page)
    assert found and found.group(1), "no CSRF token in the page"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, key: str) -> str:
    """Sign `client` in with `key` through the form, as a browser does; the session's
    CSRF token (from the page it lands on)."""
    form = await client.get(f"{PREFIX}/sign-in")
    assert form.status_code == 200, form.text
    answer = await client.post(
        f"{PREFIX}/sign-in", data={"api_key": key, CSRF_FIELD: hidden_token(form.text)}
    )
    assert answer.status_code == 303, answer.text
    landed = await client.get(answer.headers["location"])
    assert landed.status_code == 200, landed.text
    return meta_token(landed.text)


def dashboard_of(app: FastAPI) -> FastAPI:
    """The dashboard app campaign_api mounts at `/app`."""
    for route in app.routes:
        if isinstance(route, Mount) and route.path == PREFIX and isinstance(route.app, FastAPI):
            return route.app
    raise AssertionError("campaign_api mounts no dashboard at /app")


def state_changing_routes(dashboard: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route of the dashboard that is not GET/HEAD
    (FastAPI includes routers lazily: their routes are read through their contexts)."""
    return sorted(
        (method, f"{PREFIX}{route.path}")
        for route in iter_route_contexts(dashboard.routes)
        if isinstance(route.original_route, APIRoute) and route.path is not None
        for method in (route.methods or set()) - SAFE_METHODS
    )


def assert_shown_as_text(page: str, *values: str) -> None:
    """Each of `values` is in `page` escaped, never as markup."""
    for value in values:
        assert value not in page, f"{value!r} reached the page unescaped"
        assert str(escape(value)) in page, f"{value!r} is not on the page"
