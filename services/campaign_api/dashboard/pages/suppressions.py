"""Suppressions: the list (search by address prefix, paged), add, remove."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.campaign_api.dashboard.backend import ApiProblem, Calls
from services.campaign_api.dashboard.forms import field_errors
from services.campaign_api.dashboard.web import PREFIX, ApiCalls, CurrentSession, form_data, page

router = APIRouter()
PAGE_SIZE = 50
NOTICES = {"added": "Suppressed.", "already": "That address was suppressed already.",
           "removed": "No longer suppressed."}  # fmt: skip
Text = Annotated[str | None, Query(max_length=320)]


async def _page(
    request: Request,
    session: CurrentSession,
    calls: Calls,
    prefix: str | None,
    cursor: str | None,
    notice: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    params = {"prefix": prefix, "cursor": cursor, "limit": PAGE_SIZE}
    listed = await calls.api("GET", "/suppressions", params=params)
    return page(
        request,
        "suppressions.html",
        session,
        422 if errors else 200,
        title="Suppressions",
        items=listed["items"],
        next_cursor=listed["next_cursor"],
        starting=prefix or "",
        notice=notice,
        errors=errors or {},
        values=values or {"email": "", "reason": ""},
    )


@router.get("/suppressions")
async def list_suppressions(
    request: Request,
    session: CurrentSession,
    calls: ApiCalls,
    prefix: Text = None,
    cursor: Text = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """Suppressed addresses in address order, those starting with `prefix` if given."""
    notice = NOTICES.get(done or "", "")
    return await _page(request, session, calls, prefix or None, cursor, notice)


@router.post("/suppressions")
async def add_suppression(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """Suppress one address (the API normalises and validates it)."""
    form = await form_data(request)
    body = {"email": form.get("email", "").strip(), "reason": form.get("reason", "").strip()}
    if not body["reason"]:
        body["reason"] = "manual"
    try:
        added = await calls.api("POST", "/suppressions", json=body)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return await _page(request, session, calls, None, None, "", field_errors(problem), body)
    done = "added" if added["added"] else "already"
    return RedirectResponse(f"{PREFIX}/suppressions?done={done}", status_code=303)


@router.post("/suppressions/remove")
async def remove_suppression(request: Request, calls: ApiCalls) -> Response:
    """Stop suppressing an address."""
    form = await form_data(request)
    email = form.get("email", "").strip()
    # one path segment of the API, whatever the field holds ("../x" included)
    await calls.api("DELETE", f"/suppressions/{quote(email, safe='@')}")
    query = urlencode({"done": "removed", "prefix": form.get("prefix", "")})
    return RedirectResponse(f"{PREFIX}/suppressions?{query}", status_code=303)
