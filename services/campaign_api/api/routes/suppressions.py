"""Suppressions: addresses no campaign of the account ever sends to."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.api.models.common import Email, Text
from services.campaign_api.api.pagination import Page, TextPage
from services.campaign_api.records import suppress
from shared.auth import CurrentAccount
from shared.emails import InvalidEmail, normalize_email
from shared.http import answers
from shared.http.examples import example_config
from shared.http.problems import ProblemError, problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/suppressions", tags=["suppressions"], responses=answers.AUTHENTICATED)

MAX_BULK = 10_000
# `prefix` is matched with starts_with, not LIKE (whose `%` and `_` would be wildcards) nor
# a key range (not a prefix under every collation); addresses are stored lower-case.
LIST = """
SELECT email, reason, source, created_at FROM suppressions
WHERE account_id = $1 AND ($2::text IS NULL OR email > $2)
  AND ($4::text IS NULL OR starts_with(email, $4))
ORDER BY email LIMIT $3
"""
Reason = Annotated[Text, Field(min_length=1, max_length=200)]


class SuppressionCreate(BaseModel):
    """One address to suppress (normalised like lead emails)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"email": "bob@example.com", "reason": "asked by phone"}]},
    )

    email: Email
    reason: Reason = "manual"


class SuppressionBulk(BaseModel):
    """Many addresses with one reason; the whole request is refused if any is invalid."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"emails": ["a@example.com", "b@example.com"], "reason": "old list"}]
        },
    )

    emails: list[Email] = Field(min_length=1, max_length=MAX_BULK)
    reason: Reason = "manual"


class Suppression(BaseModel):
    """A suppressed address."""

    model_config = example_config(
        {
            "email": "bob@example.com",
            "reason": "hard_bounce",
            "source": "webhook",
            "created_at": "2026-11-23T09:00:00Z",
        }
    )

    email: str
    reason: str
    source: str
    created_at: datetime


class BulkResult(BaseModel):
    """How many addresses were newly suppressed (already suppressed ones are kept)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"received": 2, "added": 1}]})

    received: int
    added: int


@router.get("", response_model=Page[Suppression], responses=problem_responses(422))
async def list_suppressions(
    account: CurrentAccount,
    pool: PoolDep,
    page: TextPage,
    prefix: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=320,
            description="Only addresses starting with this (case-insensitive), e.g. "
            "`ada@` or `ada@example.`.",
        ),
    ] = None,
) -> Page[Suppression]:
    """The account's suppressed addresses in address order (keyset pagination), all or
    those starting with `prefix`."""
    wanted = prefix.lower() if prefix else None
    rows = await pool.fetch(LIST, account, page.cursor, page.limit + 1, wanted)
    return page.page(rows, lambda r: Suppression(**dict(r)), key="email")


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=BulkResult, responses=answers.WITH_BODY
)
async def add_suppression(
    body: SuppressionCreate, account: CurrentAccount, pool: PoolDep
) -> BulkResult:
    """Suppress one address (idempotent: `added` is 0 if it already was)."""
    return BulkResult(received=1, added=await suppress(pool, account, [body.email], body.reason))


@router.post(
    "/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkResult,
    responses=answers.WITH_BODY,
)
async def add_suppressions(
    body: SuppressionBulk, account: CurrentAccount, pool: PoolDep
) -> BulkResult:
    """Suppress up to 10,000 addresses at once, in one statement."""
    emails = sorted(set(body.emails))
    added = await suppress(pool, account, emails, body.reason)
    return BulkResult(received=len(body.emails), added=added)


@router.delete(
    "/{email}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404, 422)
)
async def remove_suppression(
    email: Annotated[str, Path(max_length=320)], account: CurrentAccount, pool: PoolDep
) -> Response:
    """Stop suppressing an address (404 if it is not suppressed)."""
    try:
        normalized = normalize_email(email)
    except InvalidEmail as exc:
        raise ProblemError(404, "not suppressed") from exc
    done = await pool.execute(
        "DELETE FROM suppressions WHERE account_id = $1 AND email = $2", account, normalized
    )
    if done == "DELETE 0":
        raise ProblemError(404, "not suppressed")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
