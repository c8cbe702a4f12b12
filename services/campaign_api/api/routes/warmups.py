"""Warm-up schedules: daily volume ramps of sending domains and provider configurations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Response, status

from services.campaign_api.api.models.reputation import Warmup, WarmupCreate, WarmupDay
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.reputation import warmups as store
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep
from shared.reputation import Ramp, utc_day

router = APIRouter(prefix="/warmups", tags=["warmups"], responses=answers.AUTHENTICATED)
NOT_FOUND = "warm-up schedule not found"


async def _views(pool: asyncpg.Pool, rows: Sequence[asyncpg.Record]) -> list[Warmup]:
    today = utc_day(datetime.now(UTC))
    used = await store.used_on(pool, [row["id"] for row in rows], today)
    views = []
    for row in rows:
        ramp = Ramp(starts_on=row["starts_on"], daily_limits=list(row["daily_limits"]))
        day = WarmupDay(day=today, allowance=ramp.allowance_on(today), used=used.get(row["id"], 0))
        views.append(
            Warmup(
                id=row["id"],
                domain=row["domain"],
                provider_config_id=row["provider_config_id"],
                starts_on=ramp.starts_on,
                daily_limits=list(ramp.limits),
                ends_on=ramp.ends_on(),
                today=day,
                created_at=row["created_at"],
            )
        )
    return views


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Warmup,
    responses=answers.WITH_BODY | problem_responses(409),  # 409: the target has a schedule
)
async def create_warmup(body: WarmupCreate, account: CurrentAccount, pool: PoolDep) -> Warmup:
    """Ramp up a new sending domain or provider configuration: its campaigns emit at most
    the day's allowance (all of them together) and wait for the next UTC day beyond it,
    shown on the campaign as `held`. 422 when the domain or configuration is not the
    account's; 409 when it has a schedule already."""
    starts_on = body.starts_on or utc_day(datetime.now(UTC))
    async with pool.acquire() as conn:
        try:
            row = await store.create_warmup(
                conn,
                account,
                domain=body.domain,
                provider_config_id=body.provider_config_id,
                starts_on=starts_on,
                daily_limits=body.daily_limits,
            )
        except store.UnknownTarget as exc:
            raise invalid(["body", exc.field], "not one of this account's") from exc
        except store.WarmupExists as exc:
            raise ProblemError(
                409, "it has a warm-up schedule already; delete that one first"
            ) from exc
    [view] = await _views(pool, [row])
    return view


@router.get("", response_model=Page[Warmup], responses=problem_responses(422))
async def list_warmups(account: CurrentAccount, pool: PoolDep, page: IdPage) -> Page[Warmup]:
    """The account's warm-up schedules in id order, each with today's allowance and use."""
    rows = await store.list_warmups(pool, account, after=page.cursor, limit=page.limit + 1)
    views = {view.id: view for view in await _views(pool, rows)}
    return page.page(rows, lambda row: views[row["id"]], "id")


@router.get("/{warmup_id}", response_model=Warmup, responses=answers.BY_ID)
async def get_warmup(warmup_id: UUID, account: CurrentAccount, pool: PoolDep) -> Warmup:
    """One warm-up schedule, with today's allowance and use."""
    try:
        row = await store.fetch_warmup(pool, account, warmup_id)
    except store.WarmupNotFound as exc:
        raise ProblemError(404, NOT_FOUND) from exc
    [view] = await _views(pool, [row])
    return view


@router.delete("/{warmup_id}", status_code=status.HTTP_204_NO_CONTENT, responses=answers.BY_ID)
async def delete_warmup(warmup_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a warm-up schedule: its campaigns are no longer held by it."""
    try:
        await store.delete_warmup(pool, account, warmup_id)
    except store.WarmupNotFound as exc:
        raise ProblemError(404, NOT_FOUND) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
