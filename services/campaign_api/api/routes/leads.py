"""Leads: create, list (keyset) or look up by email, get, update, delete (import: lead_import)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import APIRouter, Query, Response, status

from services.campaign_api.api.models.leads import Lead, LeadCreate, LeadUpdate
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.owned import fetch_owned, list_owned
from services.campaign_api.records import LEAD_COLUMNS as COLUMNS
from services.campaign_api.records import insert_lead
from shared.auth import CurrentAccount
from shared.emails import InvalidEmail, normalize_email
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses
from shared.http.state import PoolDep

router = APIRouter(prefix="/leads", tags=["leads"], responses=answers.AUTHENTICATED)
DUPLICATE = problem_responses(409)  # another lead of the account has this email

NOT_FOUND = "lead not found"
# Its own statement, so even a generic plan looks the address up in the unique
# (account_id, email) index instead of filtering the account's leads.
LOOKUP = f"""
SELECT {COLUMNS} FROM leads
WHERE account_id = $1 AND email = $4 AND ($2::uuid IS NULL OR id > $2)
ORDER BY id LIMIT $3
"""
EMAIL_QUERY = "Only the lead with this address (compared as stored: normalised, lower case)."


def lookup_form(email: str) -> str:
    """An address as leads store it; one that is not valid is only lower-cased, so a lead
    written around the API's checks can still be found."""
    try:
        return normalize_email(email)
    except InvalidEmail:
        return email.strip().lower()


def lead_from(row: asyncpg.Record) -> Lead:
    values = dict(row)
    values["attributes"] = orjson.loads(values["attributes"])
    return Lead(**values)


async def _duplicate(pool: asyncpg.Pool, account: UUID, email: str) -> ProblemError:
    """409 naming the lead that already has `email` (`extra.lead_id`), to fetch or update."""
    existing = await pool.fetchval(
        "SELECT id FROM leads WHERE account_id = $1 AND email = $2", account, email
    )
    facts = {"lead_id": str(existing)} if existing is not None else None
    return ProblemError(409, f"a lead with email {email} already exists", extra=facts)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Lead,
    responses=answers.WITH_BODY | DUPLICATE,
)
async def create_lead(body: LeadCreate, account: CurrentAccount, pool: PoolDep) -> Lead:
    """Create one lead. 409 if the account already has a lead with this (normalised) email;
    the problem's `extra.lead_id` is that lead's id."""
    try:
        row = await insert_lead(pool, account, body)
    except asyncpg.UniqueViolationError as exc:
        raise await _duplicate(pool, account, body.email) from exc
    return lead_from(row)


@router.get("", response_model=Page[Lead], responses=problem_responses(422))
async def list_leads(
    account: CurrentAccount,
    pool: PoolDep,
    page: IdPage,
    email: Annotated[str | None, Query(max_length=320, description=EMAIL_QUERY)] = None,
) -> Page[Lead]:
    """The account's leads in id order, `limit` at a time (keyset pagination).

    With `email`, the lead with that address, if any (at most one: addresses are unique
    per account), found as stored: `GET /leads?email=Ada@Example.com`.
    """
    if email is None:
        rows = await list_owned(
            pool, "leads", COLUMNS, account, after=page.cursor, limit=page.limit + 1
        )
    else:
        rows = await pool.fetch(LOOKUP, account, page.cursor, page.limit + 1, lookup_form(email))
    return page.page(rows, lead_from, key="id")


@router.get("/{lead_id}", response_model=Lead, responses=answers.BY_ID)
async def get_lead(lead_id: UUID, account: CurrentAccount, pool: PoolDep) -> Lead:
    """One lead (404 if it is not this account's)."""
    row = await fetch_owned(pool, "leads", COLUMNS, account, lead_id)
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return lead_from(row)


@router.patch(
    "/{lead_id}", response_model=Lead, responses=answers.BY_ID | answers.WITH_BODY | DUPLICATE
)
async def update_lead(
    lead_id: UUID, body: LeadUpdate, account: CurrentAccount, pool: PoolDep
) -> Lead:
    """Change some fields; omitted fields stay as they are. `attributes` replaces the object."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for field in ("email", "tags"):
        if field in changes and changes[field] is None:
            raise invalid(["body", field], "cannot be null")
    if "attributes" in changes:
        changes["attributes"] = orjson.dumps(changes["attributes"] or {}).decode()
    names = list(changes)
    assignments = ", ".join(
        f"{n} = ${i + 3}{'::jsonb' if n == 'attributes' else ''}" for i, n in enumerate(names)
    )
    sql = f"""
        UPDATE leads SET {assignments}{", " if names else ""}updated_at = now()
        WHERE id = $1 AND account_id = $2 RETURNING {COLUMNS}
    """  # column names come from the model's fixed field list, never from input
    try:
        row = await pool.fetchrow(sql, lead_id, account, *changes.values())
    except asyncpg.UniqueViolationError as exc:
        raise await _duplicate(pool, account, str(changes.get("email"))) from exc
    if row is None:
        raise ProblemError(404, NOT_FOUND)
    return lead_from(row)


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT, responses=answers.BY_ID)
async def delete_lead(lead_id: UUID, account: CurrentAccount, pool: PoolDep) -> Response:
    """Delete a lead (404 if it is not this account's)."""
    done = await pool.execute(
        "DELETE FROM leads WHERE id = $1 AND account_id = $2", lead_id, account
    )
    if done == "DELETE 0":
        raise ProblemError(404, NOT_FOUND)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
