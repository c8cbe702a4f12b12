"""One-click unsubscribe (RFC 8058) and the page people see when they follow the link.

`POST /unsubscribe/{token}` with the form field `List-Unsubscribe=One-Click`
(what mail clients send; no auth, no confirmation step) suppresses the
address, marks the lead unsubscribed and emits `unsubscribed`, whose id is
fixed per (campaign, lead) so repeats count once. `GET` only shows a page with
a button posting that same form: a GET never unsubscribes, because link
scanners follow links.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData
from starlette.types import Message

from services.webhook_ingest.api.deps import RecorderDep, SettingsDep
from services.webhook_ingest.recorder import RecordingFailed
from services.webhook_ingest.suppressions import LINK_PROVIDER
from shared.contracts.events import EmailEvent, EventType, provider_event_id
from shared.contracts.fast_events import FastEvent
from shared.metrics import WEBHOOKS
from shared.unsubscribe import InvalidToken, UnsubscribeClaim, verify_token

router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"])
FORM_LIMIT = 64 * 1024
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 4rem auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>"""
FORM = """<form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>"""


def _page(title: str, text: str, form: str = "", code: int = 200) -> HTMLResponse:
    body = PAGE.format(title=html.escape(title), text=html.escape(text), form=form)
    return HTMLResponse(body, status_code=code)


def _claim(settings: SettingsDep, token: str) -> UnsubscribeClaim:
    try:
        return verify_token(settings.common.secret("link_secret"), token)
    except InvalidToken as exc:
        WEBHOOKS.labels(LINK_PROVIDER, "unauthorized").inc()
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"invalid unsubscribe link: {exc}"
        ) from exc


async def _form(request: Request) -> FormData:
    body = await request.body()  # at most FORM_LIMIT bytes: the app's BodyLimit
    if request.headers.get("content-type", "").startswith("multipart/form-data"):

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        return await Request(request.scope, replay).form(max_files=0, max_fields=20)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return FormData([(k, v) for k, values in fields.items() for v in values])


@router.get("/{token}", response_class=HTMLResponse)
async def unsubscribe_page(token: str, settings: SettingsDep) -> HTMLResponse:
    """A page with one button that unsubscribes the address of the link (a POST)."""
    claim = _claim(settings, token)
    text = f"Stop receiving these emails at {claim.email}?"
    return _page("Unsubscribe", text, FORM)


@router.post("/{token}", response_class=HTMLResponse)
async def unsubscribe_one_click(
    token: str, request: Request, settings: SettingsDep, recorder: RecorderDep
) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe: form body `List-Unsubscribe=One-Click`, answered 200."""
    claim = _claim(settings, token)
    form = await _form(request)
    if form.get("List-Unsubscribe") != "One-Click":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "form field List-Unsubscribe must be 'One-Click'"
        )
    event = EmailEvent(
        event_id=provider_event_id(
            LINK_PROVIDER, f"unsubscribe:{claim.campaign_id}:{claim.lead_id}"
        ),
        account_id=claim.account_id,
        campaign_id=claim.campaign_id,
        lead_id=claim.lead_id,
        email=claim.email.strip().lower(),
        type=EventType.UNSUBSCRIBED,
        provider=LINK_PROVIDER,
        reason="one-click unsubscribe link",
        occurred_at=datetime.now(UTC),
    )
    try:
        if not await recorder.account_exists(claim.account_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "this unsubscribe link is not valid")
        await recorder.record([FastEvent.of(event)])
    except RecordingFailed as exc:
        WEBHOOKS.labels(LINK_PROVIDER, "unavailable").inc()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "please try again in a moment"
        ) from exc
    WEBHOOKS.labels(LINK_PROVIDER, "accepted").inc()
    return _page("Unsubscribed", f"{claim.email} will not receive these emails any more.")
