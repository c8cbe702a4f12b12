"""Webhook endpoints: where the account's own systems are told what happened.

Register a URL with the event types it wants; Fanout's notifier POSTs each event there,
signed per the Standard Webhooks specification with the endpoint's secret, which is
returned once, on creation and on rotation (docs/webhooks-outbound.md). Outside development the
URL must be https and must not reach loopback or private addresses (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Body, Depends, Response, status

from services.campaign_api.api.deps import SettingsDep
from services.campaign_api.api.models.webhooks import (
    Endpoint,
    EndpointCreate,
    EndpointUpdate,
    NewEndpoint,
    RotatedSecret,
    RotateSecret,
)
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.config import Settings
from services.campaign_api.webhooks import endpoints
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep, from_state
from shared.outbound.destinations import DestinationRefused, allows_private, check_url
from shared.outbound.secrets import SecretBox

router = APIRouter(prefix="/webhook-endpoints", tags=["webhooks"], responses=answers.AUTHENTICATED)

NOT_FOUND = "webhook endpoint not found"
SecretBoxDep = Annotated[SecretBox, Depends(from_state("secret_box", SecretBox))]


async def endpoint_or_404(pool: asyncpg.Pool, account: UUID, endpoint_id: UUID) -> asyncpg.Record:
    """The account's endpoint, or 404 (another account's answers the same)."""
    row = await endpoints.get_endpoint(pool, account, endpoint_id)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return row


async def _checked_url(url: str, settings: Settings) -> str:
    try:
        return await check_url(url, allow_private=allows_private(settings.common))
    except DestinationRefused as exc:
        raise invalid(["body", "url"], f"not a usable webhook URL: {exc}", "webhook_url") from exc


def _types(event_types: Sequence[str]) -> list[str]:
    return sorted({str(t) for t in event_types})


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=NewEndpoint, responses=answers.WITH_BODY
)
async def create_webhook_endpoint(
    body: EndpointCreate,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    box: SecretBoxDep,
) -> NewEndpoint:
    """Register an endpoint. The answer holds its signing secret (`whsec_...`): store it
    now, it is never shown again (rotate it to get a new one)."""
    url = await _checked_url(body.url, settings)
    row, secret = await endpoints.create_endpoint(
        pool,
        box,
        account,
        url=url,
        event_types=_types(body.event_types),
        description=body.description,
    )
    return NewEndpoint(**dict(row), secret=secret)


@router.get("", response_model=Page[Endpoint], responses=problem_responses(422))
async def list_webhook_endpoints(
    account: CurrentAccount,
    pool: PoolDep,
    page: IdPage,
) -> Page[Endpoint]:
    """The account's endpoints in id order (keyset pagination), secrets never included."""
    rows = await endpoints.list_endpoints(pool, account, page.cursor, page.limit + 1)
    return page.page(rows, lambda r: Endpoint(**dict(r)), key="id")


@router.get("/{endpoint_id}", response_model=Endpoint, responses=answers.BY_ID)
async def get_webhook_endpoint(
    endpoint_id: UUID, account: CurrentAccount, pool: PoolDep
) -> Endpoint:
    """One endpoint, with its status: why and when it was disabled, its failure streak."""
    return Endpoint(**dict(await endpoint_or_404(pool, account, endpoint_id)))


@router.patch(
    "/{endpoint_id}", response_model=Endpoint, responses=answers.BY_ID | answers.WITH_BODY
)
async def update_webhook_endpoint(
    endpoint_id: UUID,
    body: EndpointUpdate,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
) -> Endpoint:
    """Change the URL, event types or description; `enabled` disables the endpoint or
    re-enables one (also one disabled automatically: its failure streak starts over)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        changes["url"] = await _checked_url(changes["url"], settings)
    if "event_types" in changes:
        changes["event_types"] = _types(changes["event_types"])
    row = await endpoints.update_endpoint(pool, account, endpoint_id, changes)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return Endpoint(**dict(row))


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, responses=answers.BY_ID)
async def delete_webhook_endpoint(
    endpoint_id: UUID, account: CurrentAccount, pool: PoolDep
) -> Response:
    """Delete an endpoint, its pending deliveries and its delivery log."""
    if not await endpoints.delete_endpoint(pool, account, endpoint_id):
        raise ProblemError(404, NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=RotatedSecret,
    responses=answers.BY_ID | answers.WITH_BODY,
)
async def rotate_webhook_secret(
    endpoint_id: UUID,
    account: CurrentAccount,
    pool: PoolDep,
    box: SecretBoxDep,
    body: Annotated[RotateSecret | None, Body()] = None,
) -> RotatedSecret:
    """A new signing secret, shown once. For `overlap_seconds` (default a day) webhooks
    carry signatures under both secrets, so receivers switch without missing any."""
    overlap = timedelta(seconds=(body or RotateSecret()).overlap_seconds)
    now = datetime.now(UTC)
    rotated = await endpoints.rotate_secret(
        pool, box, account, endpoint_id, overlap=overlap, now=now
    )
    if rotated is None:
        raise ProblemError(404, NOT_FOUND)
    secret, until = rotated
    return RotatedSecret(secret=secret, previous_secret_expires_at=until)
