"""Campaigns: the list, a campaign with its live progress, create and edit (with the
condition builder), and the lifecycle actions, each confirmed first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from services.campaign_api.dashboard.backend import ApiProblem, Calls
from services.campaign_api.dashboard.forms import (
    FormInvalid,
    campaign_body,
    campaign_form,
    field_errors,
)
from services.campaign_api.dashboard.progress import Sample, duration_text, progress_of
from services.campaign_api.dashboard.web import (
    PREFIX,
    ApiCalls,
    CurrentSession,
    form_data,
    page,
)
from shared.campaigns import Action, State, allowed_from

router = APIRouter()

ACTIONS = (Action.LAUNCH, Action.PAUSE, Action.RESUME, Action.CANCEL)
CONFIRM = {
    Action.LAUNCH: "Launch this campaign? Its template is test-rendered for the audience "
    "first; then it sends (or waits for its scheduled time).",
    Action.PAUSE: "Pause this campaign? No new email is sent within a second; resume it "
    "later where it stopped.",
    Action.RESUME: "Resume this campaign where it stopped?",
    Action.CANCEL: "Cancel this campaign? It stops for good: leads not sent to yet never "
    "will be. Its reports stay.",
}
NOTICES = {  # what a redirect may announce: fixed texts only, never echoed input
    "created": "Draft saved.",
    "saved": "Changes saved.",
    "launch": "Launched.",
    "pause": "Paused.",
    "resume": "Resumed.",
    "cancel": "Cancelled.",
}
STATES = [s.value for s in State]
PAGE_SIZE = 25
Cursor = Annotated[str | None, Query(max_length=200)]


def actions_of(state: str) -> list[str]:
    """The lifecycle actions a person may take on a campaign in `state`."""
    return [a.value for a in ACTIONS if State(state) in allowed_from(a)]


async def _campaign(calls: Calls, campaign_id: UUID) -> dict[str, Any]:
    campaign: dict[str, Any] = await calls.api("GET", f"/campaigns/{campaign_id}")
    return campaign


async def _choices(calls: Calls) -> dict[str, Any]:
    """What the campaign form offers: templates, verified domains, provider configurations."""
    templates = await calls.api("GET", "/templates", params={"limit": 1000})
    domains = await calls.api("GET", "/domains", params={"status": "verified", "limit": 1000})
    providers = await calls.api("GET", "/providers", params={"limit": 1000})
    fields = await calls.api("GET", "/segments/fields")
    return {
        "templates": templates["items"],
        "domains": [d["name"] for d in domains["items"]],
        "providers": providers["items"],
        "vocabulary": orjson.dumps(fields).decode(),
    }


@router.get("/campaigns")
async def list_campaigns(
    request: Request,
    session: CurrentSession,
    calls: ApiCalls,
    state: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Cursor = None,
) -> Response:
    """The account's campaigns, newest first: state, progress and the key rates."""
    wanted = state if state in STATES else None
    params = {"limit": PAGE_SIZE, "cursor": cursor, "state": wanted}
    listed = await calls.api("GET", "/campaigns", params=params)
    rates = await _rates(calls)
    rows = [_row(c, rates.get(c["id"])) for c in listed["items"]]
    return page(
        request,
        "campaigns.html",
        session,
        title="Campaigns",
        rows=rows,
        states=STATES,
        state=wanted or "",
        next_cursor=listed["next_cursor"],
    )


async def _rates(calls: Calls) -> dict[str, dict[str, Any]]:
    """Headline numbers per campaign from the reports API (the most recently active
    1,000); empty, with the list still shown, if the reports API is away."""
    try:
        summary = await calls.report("campaigns", {"limit": 1000})
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        return {}
    return {item["campaign_id"]: item for item in summary["items"]}


def _ratio(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def _row(campaign: dict[str, Any], numbers: dict[str, Any] | None) -> dict[str, Any]:
    progress = progress_of(campaign, datetime.now(UTC), None)
    rates = {"delivery": "—", "bounce": "—", "open": "—"}
    if numbers is not None:
        sent, delivered = numbers["sent"], numbers["delivered"]
        rates = {
            "delivery": _ratio(delivered, sent),
            "bounce": _ratio(numbers["bounced"], sent),
            "open": _ratio(numbers["opened"], delivered),
        }
    return {"campaign": campaign, "progress": progress, "rates": rates}


@router.get("/campaigns/new")
async def new_campaign(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """An empty campaign form."""
    values = {"condition": '{"field": "email", "op": "exists", "value": true}'}
    return await _form_page(request, session, calls, None, values, {})


async def _form_page(
    request: Request,
    session: CurrentSession,
    calls: Calls,
    campaign: dict[str, Any] | None,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    choices = await _choices(calls)
    if not values.get("provider_config_id"):
        default = [p["id"] for p in choices["providers"] if p.get("is_default")]
        values = {**values, "provider_config_id": default[0] if default else ""}
    return page(
        request,
        "campaign_form.html",
        session,
        422 if errors else 200,
        title="Edit campaign" if campaign else "New campaign",
        campaign=campaign,
        values=values,
        errors=errors,
        **choices,
    )


@router.post("/campaigns/new")
async def create_campaign(request: Request, session: CurrentSession, calls: ApiCalls) -> Response:
    """Save a draft (the API validates it); the form again with the errors beside their
    fields when it refuses."""
    form = await form_data(request)
    try:
        created = await calls.api("POST", "/campaigns", json=campaign_body(form))
    except FormInvalid as invalid:
        return await _form_page(request, session, calls, None, form, invalid.errors)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return await _form_page(request, session, calls, None, form, field_errors(problem))
    return RedirectResponse(f"{PREFIX}/campaigns/{created['id']}?done=created", status_code=303)


@router.get("/campaigns/{campaign_id}")
async def show_campaign(
    request: Request,
    campaign_id: UUID,
    session: CurrentSession,
    calls: ApiCalls,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """A campaign: what it sends, to whom, through which provider, and its live progress."""
    campaign = await _campaign(calls, campaign_id)
    template = await calls.api("GET", f"/templates/{campaign['template_id']}")
    provider = None
    if campaign["provider_config_id"]:
        provider = await calls.api("GET", f"/providers/{campaign['provider_config_id']}")
    progress = progress_of(campaign, datetime.now(UTC), None)
    return page(
        request,
        "campaign.html",
        session,
        title=campaign["name"],
        campaign=campaign,
        template=template,
        provider=provider,
        progress=progress,
        eta=duration_text(progress.eta_seconds),
        actions=actions_of(campaign["state"]),
        condition=orjson.dumps(campaign["condition"], option=orjson.OPT_INDENT_2).decode(),
        notice=NOTICES.get(done or "", ""),
    )


@router.get("/campaigns/{campaign_id}/progress")
async def campaign_progress(
    campaign_id: UUID,
    calls: ApiCalls,
    since_done: Annotated[int | None, Query(ge=0)] = None,
    since_at: Annotated[float | None, Query(ge=0)] = None,
) -> JSONResponse:
    """The progress panel's numbers, polled once a second by the page; the rate over the
    span since the reading the page passes back (`since_done` leads at `since_at`)."""
    campaign = await _campaign(calls, campaign_id)
    since = Sample(since_done, since_at) if since_done is not None and since_at else None
    progress = progress_of(campaign, datetime.now(UTC), since)
    body = {**vars(progress), "eta": duration_text(progress.eta_seconds)}
    return JSONResponse(body)


@router.get("/campaigns/{campaign_id}/edit")
async def edit_campaign(
    request: Request, campaign_id: UUID, session: CurrentSession, calls: ApiCalls
) -> Response:
    """The form of a draft (only drafts can be edited)."""
    campaign = await _campaign(calls, campaign_id)
    if campaign["state"] != State.DRAFT:
        return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}", status_code=303)
    return await _form_page(request, session, calls, campaign, campaign_form(campaign), {})


@router.post("/campaigns/{campaign_id}/edit")
async def save_campaign(
    request: Request, campaign_id: UUID, session: CurrentSession, calls: ApiCalls
) -> Response:
    """Save a draft's changes (`PATCH`); the form with the errors if the API refuses."""
    campaign = await _campaign(calls, campaign_id)
    form = await form_data(request)
    try:
        body = campaign_body(form)
        await calls.api("PATCH", f"/campaigns/{campaign_id}", json=body)
    except FormInvalid as invalid:
        return await _form_page(request, session, calls, campaign, form, invalid.errors)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return await _form_page(request, session, calls, campaign, form, field_errors(problem))
    return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}?done=saved", status_code=303)


def _action(name: str) -> Action:
    if name not in {a.value for a in ACTIONS}:
        raise HTTPException(404)
    return Action(name)


@router.get("/campaigns/{campaign_id}/confirm/{action}")
async def confirm_action(
    request: Request, campaign_id: UUID, action: str, session: CurrentSession, calls: ApiCalls
) -> Response:
    """Ask before launching, pausing, resuming or cancelling."""
    chosen = _action(action)
    campaign = await _campaign(calls, campaign_id)
    return _confirm_page(request, session, campaign, chosen, "")


def _confirm_page(
    request: Request,
    session: CurrentSession,
    campaign: dict[str, Any],
    action: Action,
    error: str,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    return page(
        request,
        "confirm.html",
        session,
        409 if error else 200,
        title=f"{action.value.capitalize()} {campaign['name']}",
        campaign=campaign,
        action=action.value,
        question=CONFIRM[action],
        override_guard=action is Action.RESUME and bool(campaign.get("guard")),
        error=error,
        errors=errors or [],
    )


@router.post("/campaigns/{campaign_id}/{action}")
async def act(
    request: Request, campaign_id: UUID, action: str, session: CurrentSession, calls: ApiCalls
) -> Response:
    """Launch, pause, resume or cancel, through the API (and so the lifecycle table); the
    confirmation again with the API's reason if it refuses (a template that fails for
    some leads names the part, line and variable)."""
    chosen = _action(action)
    # a resume of a campaign the guard paused, confirmed on the page that named the reason
    override = chosen is Action.RESUME and (await form_data(request)).get("override_guard")
    params = {"override_guard": "true"} if override == "true" else None
    try:
        await calls.api("POST", f"/campaigns/{campaign_id}/{chosen.value}", params=params)
    except ApiProblem as problem:
        if problem.status not in (409, 422):
            raise
        campaign = await _campaign(calls, campaign_id)
        return _confirm_page(request, session, campaign, chosen, problem.detail, problem.errors)
    return RedirectResponse(
        f"{PREFIX}/campaigns/{campaign_id}?done={chosen.value}", status_code=303
    )


@router.post("/segments/preview")
async def preview_segment(request: Request, calls: ApiCalls) -> JSONResponse:
    """The condition builder's live count: how many leads a condition matches now, its
    warnings, or the API's error with its JSON path (sent as JSON by the page)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": "send the condition as JSON"}, status_code=415)
    try:
        raw = orjson.loads(await request.body())
        condition = raw.get("condition") if isinstance(raw, dict) else None
        answer = await calls.api("POST", "/segments/preview", json={"condition": condition})
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "not valid JSON"}, status_code=422)
    except ApiProblem as problem:
        if problem.status == 401:
            raise
        paths = [e.get("path") for e in problem.errors if e.get("path")]
        body = {"error": problem.detail, "path": paths[0] if paths else None}
        return JSONResponse(body, status_code=problem.status)
    return JSONResponse({"matched": answer["matched"], "warnings": answer["warnings"]})
