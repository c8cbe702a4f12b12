"""Templates: the list, the editor (merge-variable hints, each validation error shown at
its line), and a preview rendered for a lead chosen by address."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.campaign_api.dashboard.backend import ApiProblem, Calls
from services.campaign_api.dashboard.web import PREFIX, ApiCalls, CurrentSession, form_data, page
from shared.templating.lead import KNOWN_VARIABLES

router = APIRouter()

PARTS = ("subject", "html_body", "text_body")
FIELDS = ("name", *PARTS)
# `attributes` itself is offered key by key (`attributes.plan`), as the account's leads hold them
PLAIN_VARIABLES = sorted(KNOWN_VARIABLES - {"attributes"})


def part_errors(problem: ApiProblem) -> dict[str, dict[str, Any]]:
    """`{part: {"line": n or None, "message": ...}}` from a 422 naming body.<part>
    (a preview's errors name `template.<part>`)."""
    errors: dict[str, dict[str, Any]] = {}
    for error in problem.errors:
        loc = list(error.get("loc", ()))
        if len(loc) > 1 and loc[0] in ("body", "template") and loc[1] in FIELDS:
            errors.setdefault(str(loc[1]), {"line": error.get("line"), "message": error["msg"]})
    if not errors:
        errors[""] = {"line": None, "message": problem.detail}
    return errors


async def _hints(calls: Calls) -> list[str]:
    """The merge variables a template may use: the lead's fields, `unsubscribe_url`, and
    `attributes.<key>` for each key the account's leads have held."""
    vocabulary = await calls.api("GET", "/segments/fields")
    keys = [f["field"] for f in vocabulary["fields"] if f["kind"] == "attribute"]
    return [*PLAIN_VARIABLES, *keys]


async def _editor(
    request: Request,
    session: CurrentSession,
    calls: Calls,
    template: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, dict[str, Any]] | None = None,
    preview: dict[str, Any] | None = None,
    preview_error: str = "",
    lead: str = "",
    notice: str = "",
) -> Response:
    status = 422 if errors or preview_error else 200
    return page(
        request,
        "template_form.html",
        session,
        status,
        title=values.get("name") or "New template",
        template=template,
        values=values,
        lines={part: values.get(part, "").split("\n") for part in PARTS},
        errors=errors or {},
        hints=await _hints(calls),
        preview=preview,
        preview_error=preview_error,
        lead=lead,
        notice=notice,
    )


@router.get("/templates")
async def list_templates(
    request: Request,
    session: CurrentSession,
    calls: ApiCalls,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The account's templates."""
    listed = await calls.api("GET", "/templates", params={"limit": 50, "cursor": cursor})
    return page(
        request,
        "templates.html",
        session,
        title="Templates",
        items=listed["items"],
        next_cursor=listed["next_cursor"],
    )


@router.get("/templates/new")
async def new_template(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """An empty editor."""
    values = {"name": "", "subject": "", "html_body": "", "text_body": ""}
    return await _editor(request, session, calls, None, values)


def _values(form: dict[str, str]) -> dict[str, str]:
    # browsers send textarea line breaks as CRLF; the stored template keeps plain LF
    return {name: form.get(name, "").replace("\r\n", "\n") for name in FIELDS}


@router.post("/templates/new")
async def create_template(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """Save a new template; the editor with each error at its line if the API refuses."""
    values = _values(await form_data(request))
    try:
        created = await calls.api("POST", "/templates", json=values)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return await _editor(request, session, calls, None, values, part_errors(problem))
    return RedirectResponse(f"{PREFIX}/templates/{created['id']}?saved=1", status_code=303)


@router.get("/templates/{template_id}")
async def show_template(
    request: Request,
    template_id: UUID,
    session: CurrentSession,
    calls: ApiCalls,
    lead: Annotated[str | None, Query(max_length=320)] = None,
    saved: bool = False,
) -> Response:
    """The editor of a template; with `lead` (an address), its preview for that lead."""
    template = await calls.api("GET", f"/templates/{template_id}")
    values = {name: template[name] for name in FIELDS}
    if not lead:
        notice = "Template saved." if saved else ""
        return await _editor(request, session, calls, template, values, notice=notice)
    preview: dict[str, Any] | None = None
    errors: dict[str, dict[str, Any]] | None = None
    error = ""
    found = await calls.api("GET", "/leads", params={"email": lead, "limit": 1})
    if not found["items"]:
        error = "No lead of this account has that address."
    else:
        body = {"lead_id": found["items"][0]["id"]}
        try:
            preview = await calls.api("POST", f"/templates/{template_id}/preview", json=body)
        except ApiProblem as problem:
            if problem.status != 422:
                raise
            error, errors = problem.detail, part_errors(problem)
    return await _editor(request, session, calls, template, values, errors, preview, error, lead)


@router.post("/templates/{template_id}")
async def save_template(
    request: Request, template_id: UUID, session: CurrentSession, calls: ApiCalls
) -> Response:
    """Save changes (`PATCH`); the editor with each error at its line if refused."""
    template = await calls.api("GET", f"/templates/{template_id}")
    values = _values(await form_data(request))
    try:
        await calls.api("PATCH", f"/templates/{template_id}", json=values)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return await _editor(request, session, calls, template, values, part_errors(problem))
    return RedirectResponse(f"{PREFIX}/templates/{template_id}?saved=1", status_code=303)
