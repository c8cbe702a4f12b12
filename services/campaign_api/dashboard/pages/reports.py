"""A campaign's report (funnel, outcomes over time, bounces, exclusions, recipients), its
CSV export, and one lead's history: read server-side from report_sink's reports API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from services.campaign_api.dashboard.backend import Calls
from services.campaign_api.dashboard.charts import funnel_chart, time_chart
from services.campaign_api.dashboard.web import ApiCalls, CurrentSession, page

router = APIRouter()

# The statuses the recipients table filters on (the event types of email.events).
STATUSES = (
    "sent", "failed", "suppressed", "cancelled", "excluded", "delivered", "bounced",
    "complained", "opened", "clicked", "unsubscribed", "queued",
)  # fmt: skip
ACTIVITY = ("delivered", "bounced", "complained", "opened", "clicked")
OUTCOMES = ("sent", "failed")
RECIPIENTS_PAGE = 50
Status = Annotated[str | None, Query(max_length=20)]


def funnel_steps(funnel: dict[str, Any]) -> list[tuple[str, int, str]]:
    """The funnel's bars: matched, then each step with its share of the step it follows."""
    counts = funnel["counts"]
    matched = funnel["matched"] or 0

    def of(step: str, base: str, whole: int) -> tuple[str, int, str]:
        note = f"{100 * counts[step] / whole:.1f} % of {base}" if whole else ""
        return step, counts[step], note

    return [
        ("matched", matched, ""),
        of("excluded", "matched", matched),
        of("sent", "matched", matched),
        of("failed", "matched", matched),
        of("delivered", "sent", counts["sent"]),
        of("bounced", "sent", counts["sent"]),
        of("opened", "delivered", counts["delivered"]),
        of("clicked", "delivered", counts["delivered"]),
        of("complained", "delivered", counts["delivered"]),
        of("unsubscribed", "delivered", counts["delivered"]),
    ]


async def _campaign(calls: Calls, campaign_id: UUID) -> dict[str, Any]:
    campaign: dict[str, Any] = await calls.api("GET", f"/campaigns/{campaign_id}")
    return campaign


@router.get("/campaigns/{campaign_id}/report")
async def campaign_report(
    request: Request,
    campaign_id: UUID,
    session: CurrentSession,
    calls: ApiCalls,
    status: Status = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The campaign's funnel, events over time, bounces, exclusions and recipients."""
    campaign = await _campaign(calls, campaign_id)  # 404 for another account's, first
    base = f"campaigns/{campaign_id}"
    funnel = await calls.report(f"{base}/funnel")
    activity = await calls.report(f"{base}/activity")
    timeline = await calls.report(f"{base}/timeline")
    bounces = await calls.report(f"{base}/bounces")
    exclusions = await calls.report(f"{base}/exclusions")
    wanted = status if status in STATUSES else None
    params = {"status": wanted, "cursor": cursor, "limit": RECIPIENTS_PAGE}
    recipients = await calls.report(f"{base}/recipients", params)
    return page(
        request,
        "report.html",
        session,
        title=f"Report: {campaign['name']}",
        campaign=campaign,
        funnel=funnel,
        funnel_chart=funnel_chart(funnel_steps(funnel)),
        activity=activity["minutes"],
        activity_chart=time_chart(activity["minutes"], ACTIVITY),
        timeline=timeline["minutes"],
        timeline_chart=time_chart(timeline["minutes"], OUTCOMES),
        bounces=bounces,
        exclusions=exclusions,
        recipients=recipients,
        statuses=STATUSES,
        status=wanted or "",
        cursor=cursor or "",
    )


@router.get("/campaigns/{campaign_id}/recipients.csv")
async def export_recipients(
    campaign_id: UUID, calls: ApiCalls, status: Status = None
) -> StreamingResponse:
    """The recipients as CSV, streamed from the reports API as it makes it (cells
    neutralised against formula injection there, docs/reports.md)."""
    await _campaign(calls, campaign_id)  # 404 for another account's, like every page
    wanted = status if status in STATUSES else None
    path = f"campaigns/{campaign_id}/recipients.csv"
    upstream = await calls.report_stream(path, {"status": wanted})  # refused: raised here

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()

    suffix = f"-{wanted}" if wanted else ""
    disposition = f'attachment; filename="campaign-{campaign_id}-recipients{suffix}.csv"'
    return StreamingResponse(
        body(), media_type="text/csv", headers={"Content-Disposition": disposition}
    )


@router.get("/leads/{lead_id}")
async def lead_history(
    request: Request, lead_id: UUID, session: CurrentSession, calls: ApiCalls
) -> Response:
    """One lead: its fields, and every event of it across campaigns."""
    lead = await calls.api("GET", f"/leads/{lead_id}")
    history = await calls.report(f"leads/{lead_id}/history")
    names = await _campaign_names(calls, {e["campaign_id"] for e in history["events"]})
    return page(
        request,
        "lead.html",
        session,
        title=lead["email"],
        lead=lead,
        attributes=orjson.dumps(lead["attributes"], option=orjson.OPT_INDENT_2).decode(),
        events=history["events"],
        campaign_names=names,
    )


async def _campaign_names(calls: Calls, ids: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for campaign_id in sorted(ids)[:50]:  # a lead's history spans few campaigns
        campaign = await calls.api("GET", f"/campaigns/{campaign_id}")
        names[campaign_id] = campaign["name"]
    return names
