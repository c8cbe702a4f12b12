"""Leads: create, list (keyset), get, update, delete, and the streamed bulk import."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import orjson
from fastapi import APIRouter, Query, Request, Response, status

from services.campaign_api.api.deps import CurrentAccount, PoolDep, SettingsDep
from services.campaign_api.api.models.leads import (
    ImportResult,
    Lead,
    LeadCreate,
    LeadUpdate,
)
from services.campaign_api.api.pagination import IdPage, Page
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.campaign_api.records import LEAD_COLUMNS as COLUMNS
from services.campaign_api.records import insert_lead
from shared.http import answers
from shared.http.problems import ProblemError, invalid, problem_responses

router = APIRouter(prefix="/leads", tags=["leads"], responses=answers.AUTHENTICATED)
DUPLICATE = problem_responses(409)  # another lead of the account has this email

NOT_FOUND = "lead not found"
LIST = f"""
SELECT {COLUMNS} FROM leads
WHERE account_id = $1 AND ($2::uuid IS NULL OR id > $2)
ORDER BY id LIMIT $3
"""
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
MEDIA_TYPES = {"text/csv": ImportFormat.CSV, **dict.fromkeys(JSON_LINES_TYPES, ImportFormat.JSONL)}


def lead_from(row: asyncpg.Record) -> Lead:
    values = dict(row)
    values["attributes"] = orjson.loads(values["attributes"])
    return Lead(**values)


def _duplicate(email: str) -> ProblemError:
    return ProblemError(409, f"a lead with email {email} already exists")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Lead,
    responses=answers.WITH_BODY | DUPLICATE,
)
async def create_lead(body: LeadCreate, account: CurrentAccount, pool: PoolDep) -> Lead:
    """Create one lead. 409 if the account already has a lead with this (normalised) email."""
    try:
        row = await insert_lead(pool, account, body)
    except asyncpg.UniqueViolationError as exc:
        raise _duplicate(body.email) from exc
    return lead_from(row)


@router.get("", response_model=Page[Lead], responses=problem_responses(422))
async def list_leads(account: CurrentAccount, pool: PoolDep, page: IdPage) -> Page[Lead]:
    """The account's leads in id order, `limit` at a time (keyset pagination)."""
    rows = await pool.fetch(LIST, account, page.cursor, page.limit + 1)
    return page.page(rows, lead_from, key="id")


@router.get("/{lead_id}", response_model=Lead, responses=answers.BY_ID)
async def get_lead(lead_id: UUID, account: CurrentAccount, pool: PoolDep) -> Lead:
    """One lead (404 if it is not this account's)."""
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM leads WHERE id = $1 AND account_id = $2", lead_id, account
    )
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
        raise _duplicate(str(changes.get("email"))) from exc
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


IMPORT_DOC = """
Upload a CSV or JSON Lines file as the raw request body (streamed: any size up to
the configured import limit). The format comes from `format` or the Content-Type
(`text/csv`, `application/x-ndjson`).

- CSV: a header row with `email` (required) and any of `first_name`, `last_name`,
  `country`, `tags` (`;`-separated), `attributes` (a JSON object); every other
  column is an attribute (`plan` or `attributes.plan`), typed: `true`/`false`,
  canonical numbers, otherwise text.
- JSON Lines: one object per line with the fields of `POST /leads`; unknown keys
  reject the line.

Valid rows are upserted by email (the last row for an address wins; blank values
never erase, attributes are merged); invalid rows are skipped and listed with
their line number. A file whose structure is broken (no `email` column, not UTF-8,
an unterminated quote) answers 422 and imports nothing: the import is one
transaction.
"""


@router.post(
    "/import",
    response_model=ImportResult,
    # 413 over the import limit, 415 an unknown format, 422 a broken file (with its line)
    responses=problem_responses(413, 415, 422),
    description=IMPORT_DOC,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "email,first_name,country,tags,plan\n"
                    "ada@example.com,Ada,GB,vip;beta,pro\n",
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"email": "ada@example.com", "tags": ["vip"]}\n',
                },
            },
        }
    },
)
async def import_leads_file(
    request: Request,
    account: CurrentAccount,
    pool: PoolDep,
    settings: SettingsDep,
    format: Annotated[ImportFormat | None, Query(description="Overrides the Content-Type.")] = None,
) -> ImportResult:
    """Bulk import of leads from CSV or JSON Lines."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = format or MEDIA_TYPES.get(media)
    if fmt is None:
        raise ProblemError(
            415,
            f"send text/csv or application/x-ndjson, or pass ?format= (got {media or 'nothing'})",
        )
    report = await import_leads(
        pool, account, request.stream(), fmt, chunk_rows=settings.import_chunk_rows
    )
    return ImportResult.model_validate(report, from_attributes=True)
