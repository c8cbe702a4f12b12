"""The dashboard acts through the public APIs, as the signed-in account's API key.

Every read and every change goes through campaign_api's own routes (called in this
process over ASGI, so no network hop) and report_sink's reports API (over HTTP), with
`Authorization: Bearer <the session's key>`. So the dashboard sees exactly what the
key may see, validates exactly as the API does, and changes campaign state only through
the API's lifecycle routes (and so `shared.campaigns`): it holds no query or rule of
its own that could drift from the API's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from shared.http.problem_document import MEDIA_TYPE

Params = Mapping[str, str | int | list[str] | None]


@dataclass
class ApiProblem(Exception):
    """An API answered a problem document (or did not answer at all: status 503)."""

    status: int
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail

    def at(self, *loc: str | int) -> list[dict[str, Any]]:
        """The field errors whose location starts with `loc` (e.g. "body", "html_body")."""
        return [e for e in self.errors if tuple(e.get("loc", ()))[: len(loc)] == loc]


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return ApiProblem(response.status_code, f"HTTP {response.status_code}")
    return ApiProblem(
        response.status_code,
        str(body.get("detail") or body.get("title") or response.status_code),
        list(body.get("errors") or []),
        dict(body.get("extra") or {}),
    )


def _unreachable(what: str, exc: httpx.HTTPError) -> ApiProblem:
    return ApiProblem(503, f"the {what} did not answer ({exc.__class__.__name__}); try again")


def _params(params: Params | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v not in (None, "")}


class Backend:
    """The two API clients, opened once per process (see `open_backend`)."""

    def __init__(self, api: httpx.AsyncClient, reports: httpx.AsyncClient) -> None:
        self._api = api
        self._reports = reports

    def acting_as(self, api_key: str) -> Calls:
        """Calls made with `api_key`."""
        return Calls(self._api, self._reports, {"Authorization": f"Bearer {api_key}"})


@dataclass(frozen=True)
class Calls:
    """The APIs as one API key."""

    _api: httpx.AsyncClient
    _reports: httpx.AsyncClient
    _auth: dict[str, str] = field(repr=False)

    async def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        content: AsyncIterator[bytes] | None = None,
        content_type: str | None = None,
    ) -> Any:
        """campaign_api's answer to one request (decoded JSON; None for 204)."""
        headers = dict(self._auth)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = await self._api.request(
            method, path, json=json, params=_params(params), content=content, headers=headers
        )
        return _decoded(response)

    async def report(self, path: str, params: Params | None = None) -> Any:
        """The reports API's answer to `GET /reports/<path>`."""
        try:
            response = await self._reports.get(
                f"/reports/{path}", params=_params(params), headers=self._auth
            )
        except httpx.HTTPError as exc:
            raise _unreachable("reports API", exc) from exc
        return _decoded(response)

    async def report_stream(self, path: str, params: Params | None = None) -> httpx.Response:
        """The reports API's answer to `GET /reports/<path>` (a CSV export), its body not
        read yet: the caller streams it and closes it (`aclose`). `ApiProblem` if refused."""
        request = self._reports.build_request(
            "GET", f"/reports/{path}", params=_params(params), headers=self._auth
        )
        try:
            response = await self._reports.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _unreachable("reports API", exc) from exc
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise _problem(response)
        return response


def _decoded(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise _problem(response)
    if response.status_code == 204 or not response.content:
        return None
    if response.headers.get("content-type", "").startswith(MEDIA_TYPE):
        raise _problem(response)
    return orjson.loads(response.content)


@asynccontextmanager
async def open_backend(
    api_app: Any, reports_url: str, reports_timeout_s: float
) -> AsyncIterator[Backend]:
    """The clients of `api_app` (in process) and of the reports API, closed on exit."""
    # raise_app_exceptions=False: an unexpected error in a route is its 500 problem answer,
    # shown as such, as any API client would see it
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://campaign-api", timeout=None) as api,
        httpx.AsyncClient(base_url=reports_url, timeout=reports_timeout_s) as reports,
    ):
        yield Backend(api, reports)
