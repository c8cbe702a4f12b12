"""Campaign reports: funnel, recipients (JSON and CSV), list, bounces, exclusions, timeline,
activity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.report_sink import queries
from services.report_sink.api.deps import OwnedCampaign, ReaderDep, SettingsDep
from services.report_sink.api.models import (
    Activity,
    Bounces,
    CampaignList,
    CampaignSummary,
    Exclusions,
    Funnel,
    FunnelCounts,
    FunnelRates,
    RecipientPage,
    Timeline,
)
from shared.auth import CurrentAccount
from shared.contracts.events import EventType
from shared.http import answers
from shared.http.problems import invalid, problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/reports/campaigns", tags=["reports"], responses=answers.AUTHENTICATED)

StatusFilter = Annotated[
    EventType | None, Query(description="Only recipients whose latest status is this.")
]
# ClickHouse's DateTime spans these instants; a window bound outside them is clamped to
# them (no event lies outside), so a time like year 163 or 9999 is valid and finds nothing
# there, instead of a value the engine cannot parse.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(2106, 2, 7, 6, 28, 15, tzinfo=UTC)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _rates(c: FunnelCounts) -> FunnelRates:
    return FunnelRates(
        delivery_rate=_ratio(c.delivered, c.sent),
        bounce_rate=_ratio(c.bounced, c.sent),
        complaint_rate=_ratio(c.complained, c.delivered),
        open_rate=_ratio(c.opened, c.delivered),
        click_rate=_ratio(c.clicked, c.delivered),
        click_to_open_rate=_ratio(c.clicked, c.opened),
        unsubscribe_rate=_ratio(c.unsubscribed, c.delivered),
    )


@router.get("", response_model=CampaignList, responses=problem_responses(422))
async def list_campaigns(
    account: CurrentAccount,
    reader: ReaderDep,
    pool: PoolDep,
    since: Annotated[datetime | None, Query(description="Events from (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Events before (ISO 8601).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CampaignList:
    """The account's campaigns with events in `[since, until)` (hour granularity), most
    recently active first, with their headline numbers (distinct leads) in that window.
    The numbers come from a per-campaign summary recomputed a few seconds after events
    arrive (`FANOUT_REPORT_SINK_SUMMARY_INTERVAL_S`, default 5 s): a campaign receiving
    events may show numbers that much behind; the funnel is exact at once."""
    start, end = _aware(since, "since") or _EPOCH, _aware(until, "until") or _FAR
    rows = await queries.campaigns(reader, account, start, end, limit)
    names = await pool.fetch(
        "SELECT id, name, state, matched FROM campaigns WHERE account_id = $1 AND id = ANY($2)",
        account,
        [r["campaign_id"] for r in rows],
    )
    known = {n["id"]: dict(n) for n in names}
    return CampaignList(items=[_summary(row, known.get(row["campaign_id"])) for row in rows])


def _summary(numbers: dict[str, Any], campaign: dict[str, Any] | None) -> CampaignSummary:
    state = {"name": None, "state": None, "matched": None}
    if campaign is not None:
        state = {key: campaign[key] for key in state}
    return CampaignSummary.model_validate({**numbers, **state})


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(["query", name], "give a time zone (e.g. Z)", "timezone")
    # compared as aware instants: converting year 1 at +05:00 to UTC would leave the calendar
    return min(max(value, _EPOCH), _FAR).astimezone(UTC)


@router.get("/{campaign_id}/funnel", response_model=Funnel, responses=answers.BY_ID)
async def campaign_funnel(campaign: OwnedCampaign, reader: ReaderDep) -> Funnel:
    """The campaign's funnel: distinct leads per step, with rates. `matched` comes from the
    campaign's state; every other number from ClickHouse, exact under redelivery."""
    counts = await queries.funnel(reader, campaign.account_id, campaign.id, campaign.matched)
    return Funnel(
        campaign_id=campaign.id, matched=campaign.matched, counts=counts, rates=_rates(counts)
    )


def _cursor(cursor: str | None) -> UUID:
    if cursor is None:
        return queries.NIL
    try:
        return UUID(cursor)
    except ValueError as exc:
        raise invalid(["query", "cursor"], "not a cursor this API returned", "cursor") from exc


@router.get("/{campaign_id}/recipients", response_model=RecipientPage, responses=answers.BY_ID)
async def campaign_recipients(
    campaign: OwnedCampaign,
    reader: ReaderDep,
    status_: Annotated[StatusFilter, Query(alias="status")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecipientPage:
    """The campaign's recipients with their latest status, ordered by lead id (keyset)."""
    after = _cursor(cursor)
    wanted = status_.value if status_ else ""
    page = await queries.recipients(reader, campaign.account_id, campaign.id, wanted, after, limit)
    next_cursor = str(page[-1].lead_id) if len(page) == limit else None
    return RecipientPage(items=page, next_cursor=next_cursor)


CSV_COLUMNS = ("lead_id", "email", "status", "bounce_type", "reason", "status_at")
CSV_EXAMPLE = (
    ",".join(CSV_COLUMNS) + "\n"
    "0b7f2f0e-4a36-4d77-9d5c-1f0f8c3a9e01,ada@example.com,bounced,hard,"
    "550 5.1.1 user unknown,2026-11-23T09:04:12Z\n"
)


@router.get(
    "/{campaign_id}/recipients.csv",
    response_class=StreamingResponse,
    responses={
        **answers.BY_ID,
        200: {
            "content": {"text/csv": {"example": CSV_EXAMPLE}},
            "description": "The recipients as CSV.",
        },
    },
)
async def campaign_recipients_csv(
    campaign: OwnedCampaign,
    settings: SettingsDep,
    reader: ReaderDep,
    status_: Annotated[StatusFilter, Query(alias="status")] = None,
) -> StreamingResponse:
    """Every recipient as CSV (times in ISO 8601 UTC), streamed in keyset chunks of 50,000
    rows made by ClickHouse: memory stays flat in campaign size."""
    wanted = status_.value if status_ else ""

    async def lines() -> AsyncIterator[bytes]:
        yield (",".join(CSV_COLUMNS) + "\n").encode()
        chunks = queries.recipients_csv(
            reader, campaign.account_id, campaign.id, wanted, settings.csv_chunk_rows
        )
        async for chunk in chunks:
            yield chunk

    filename = f"campaign-{campaign.id}-recipients.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(lines(), media_type="text/csv", headers=headers)


@router.get("/{campaign_id}/bounces", response_model=Bounces, responses=answers.BY_ID)
async def campaign_bounces(campaign: OwnedCampaign, reader: ReaderDep) -> Bounces:
    """Bounced leads by bounce type, by reason and by recipient domain (top 50 each)."""
    total, parts = await queries.bounces(reader, campaign.account_id, campaign.id)
    return Bounces(
        campaign_id=campaign.id,
        total=total,
        by_type=parts["bounce_type"],
        by_reason=parts["reason"],
        by_domain=parts["domain"],
    )


@router.get("/{campaign_id}/exclusions", response_model=Exclusions, responses=answers.BY_ID)
async def campaign_exclusions(campaign: OwnedCampaign, reader: ReaderDep) -> Exclusions:
    """Matched leads left out when the audience was resolved (suppressed, unsubscribed, an
    invalid address, a duplicate), by reason and by recipient domain (top 50 each)."""
    total, parts = await queries.exclusions(reader, campaign.account_id, campaign.id)
    return Exclusions(
        campaign_id=campaign.id, total=total, by_reason=parts["reason"], by_domain=parts["domain"]
    )


@router.get("/{campaign_id}/timeline", response_model=Timeline, responses=answers.BY_ID)
async def campaign_timeline(campaign: OwnedCampaign, reader: ReaderDep) -> Timeline:
    """Send outcomes (sent, failed; distinct leads) per minute, in time order."""
    minutes = await queries.timeline(reader, campaign.account_id, campaign.id)
    return Timeline(campaign_id=campaign.id, minutes=minutes)


@router.get("/{campaign_id}/activity", response_model=Activity, responses=answers.BY_ID)
async def campaign_activity(campaign: OwnedCampaign, reader: ReaderDep) -> Activity:
    """What the provider reported (delivered, bounced, complained, opened, clicked,
    unsubscribed; distinct leads) per minute of the event's time, in time order."""
    minutes = await queries.activity(reader, campaign.account_id, campaign.id)
    return Activity(campaign_id=campaign.id, minutes=minutes)
