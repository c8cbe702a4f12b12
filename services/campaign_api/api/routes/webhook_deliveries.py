"""An endpoint's delivery log, and manual replay of one delivery or of a time range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, status

from services.campaign_api.api.models.webhook_deliveries import (
    Attempt,
    Delivery,
    ReplayRequest,
    ReplayResult,
)
from services.campaign_api.api.pagination import (
    Limit,
    Page,
    decode_time_cursor,
    encode_time_cursor,
)
from services.campaign_api.api.routes.webhook_endpoints import endpoint_or_404
from services.campaign_api.webhooks import deliveries
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/webhook-endpoints", tags=["webhooks"], responses=answers.AUTHENTICATED)

MAX_REPLAY = 10_000  # deliveries queued again by one range replay (`next_since` goes on)
Status = Literal["pending", "succeeded", "failed"]


@router.get("/{endpoint_id}/deliveries", response_model=Page[Delivery], responses=answers.BY_ID)
async def list_webhook_deliveries(
    endpoint_id: UUID,
    account: CurrentAccount,
    pool: PoolDep,
    status_: Annotated[
        Status | None, Query(alias="status", description="Only this status.")
    ] = None,
    limit: Limit = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> Page[Delivery]:
    """The endpoint's deliveries, newest first, each with its latest attempts (time,
    response code, latency, error): the delivery log."""
    await endpoint_or_404(pool, account, endpoint_id)
    before = decode_time_cursor(cursor) if cursor is not None else None
    rows = await deliveries.list_deliveries(
        pool, endpoint_id, status=status_, before=before, limit=limit + 1
    )
    page = rows[:limit]
    attempts = await deliveries.attempts_of(pool, [r["id"] for r in page])
    items = [
        Delivery(
            **dict(r),
            attempt_log=[Attempt(**dict(a)) for a in attempts.get(r["id"], [])],
        )
        for r in page
    ]
    for item in items:
        if item.status != "pending":
            item.next_attempt_at = None
    last = page[-1] if len(rows) > limit else None
    next_cursor = encode_time_cursor(last["created_at"], last["id"]) if last else None
    return Page[Delivery](items=items, next_cursor=next_cursor)


@router.post(
    "/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReplayResult,
    responses=answers.BY_ID
    | answers.WITH_BODY
    | problem_responses(409),  # 409: the endpoint is disabled
)
async def replay_webhook_deliveries(
    endpoint_id: UUID, body: ReplayRequest, account: CurrentAccount, pool: PoolDep
) -> ReplayResult:
    """Send again one delivery (`delivery_id`) or the deliveries created in [`since`,
    `until`) (only those that gave up, unless `only_failed` is false), with a fresh retry
    schedule and the same `webhook-id`. A range queues at most 10,000 (oldest first);
    `next_since` then says where to go on."""
    endpoint = await endpoint_or_404(pool, account, endpoint_id)
    if endpoint["status"] != "enabled":
        raise ProblemError(409, "the endpoint is disabled; enable it first (PATCH enabled: true)")
    now = datetime.now(UTC)
    if body.delivery_id is not None:
        if body.since is not None or body.until is not None:
            raise invalid(["body", "since"], "give either delivery_id or a time range, not both")
        if not await deliveries.replay_delivery(pool, endpoint_id, body.delivery_id, now):
            raise ProblemError(404, "no such delivery for this endpoint")
        return ReplayResult(replayed=1)
    if body.since is None:
        raise invalid(["body", "since"], "give delivery_id, or since (and optionally until)")
    if body.until is not None and body.until <= body.since:
        raise invalid(["body", "until"], "must be after since")
    count, more = await deliveries.replay_range(
        pool,
        endpoint_id,
        since=body.since,
        until=body.until,
        only_failed=body.only_failed,
        now=now,
        limit=MAX_REPLAY,
    )
    return ReplayResult(replayed=count, next_since=more)
