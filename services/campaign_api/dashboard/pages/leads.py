"""Leads: find one by address (its page has its history), and import a CSV file with
the upload's progress and every rejected row's line and reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.campaign_api.dashboard.backend import ApiProblem, Calls
from services.campaign_api.dashboard.web import PREFIX, ApiCalls, CurrentSession, page

router = APIRouter()
UPLOAD_CHUNK = 256 * 1024
CSV = "text/csv"


@router.get("/leads")
async def leads(
    request: Request,
    session: CurrentSession,
    calls: ApiCalls,
    email: Annotated[str | None, Query(max_length=320)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Leads in id order, or the one with `email` (its page, when it exists)."""
    params = {"email": email or None, "cursor": cursor, "limit": 50}
    listed = await calls.api("GET", "/leads", params=params)
    if email and listed["items"]:
        return RedirectResponse(f"{PREFIX}/leads/{listed['items'][0]['id']}", status_code=303)
    return page(
        request,
        "leads.html",
        session,
        title="Leads",
        items=listed["items"],
        next_cursor=listed["next_cursor"],
        email=email or "",
        not_found=bool(email),
        result=None,
        error="",
    )


async def _file_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


async def _import(calls: Calls, body: AsyncIterator[bytes], on_conflict: str) -> dict[str, Any]:
    params = {"on_conflict": "skip" if on_conflict == "skip" else "update"}
    result: dict[str, Any] = await calls.api(
        "POST", "/leads/import", params=params, content=body, content_type=CSV
    )
    return result


async def _import_for_script(request: Request, calls: Calls) -> JSONResponse:
    """The script's upload: the file is the body; the result (or the refusal) as JSON."""
    on_conflict = request.query_params.get("on_conflict", "")
    try:
        return JSONResponse(await _import(calls, request.stream(), on_conflict))
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return JSONResponse({"error": problem.detail}, status_code=problem.status)


@router.post("/leads/import")
async def import_leads(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """Import a CSV file. The page's script sends the file itself as the body (so the
    browser reports the upload's progress) and gets JSON; without the script, the form
    posts it as multipart and gets the page. Either way the file streams to the API."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == CSV:
        return await _import_for_script(request, calls)
    form = await request.form()
    upload, on_conflict = form.get("file"), form.get("on_conflict")
    result: dict[str, Any] | None = None
    error = ""
    if not isinstance(upload, UploadFile):
        error = "Choose a CSV file to import."
    else:
        try:
            result = await _import(calls, _file_chunks(upload), str(on_conflict or ""))
        except ApiProblem as problem:
            if problem.status == 401:
                raise
            error = problem.detail
    return page(
        request,
        "leads.html",
        session,
        422 if error else 200,
        title="Leads",
        items=[],
        next_cursor=None,
        email="",
        not_found=False,
        result=result,
        error=error,
    )
