"""Analysts' SQL: `POST /reports/sql` for one account's analysts, `POST /internal/sql` for
operators (`fanout sql`).

In embedded mode only report_sink may open the chDB folder, so analysts' queries go
through it. Both accept one read-only statement, checked on ClickHouse's own syntax
tree and run rebuilt from it on a read-only session with limits on time, memory,
rows and bytes (`services.report_sink.analyst`). `/reports/sql` takes the account's
API key and reads only that account's rows of the report tables; `/internal/sql`
sees every account's data, so it takes the admin token. Both check their caller
before the body is read (and the body limit before anything), so a stranger
cannot make the service read a large body.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.encoders import jsonable_encoder

from services.report_sink.analyst import QueryRefused, SqlAnswer
from services.report_sink.api.deps import AdminTokenDep, AnalystDep
from services.report_sink.api.models import SqlRequest, SqlResult
from shared.auth import CurrentAccount, unauthorized
from shared.http.json_body import json_body, json_body_doc
from shared.http.problems import ProblemError, problem_responses

router = APIRouter()
ADMIN_HEADER = "X-Fanout-Admin-Token"
SqlBody = Annotated[SqlRequest, Depends(json_body(SqlRequest))]
# 400: the statement was refused (its kind, a clause, a function, a table, a limit);
# `detail` says why
RESPONSES = problem_responses(400, 401, 413, 422)


async def _check_token(
    expected: AdminTokenDep, token: Annotated[str | None, Header(alias=ADMIN_HEADER)] = None
) -> None:
    if token is None:
        raise unauthorized("missing admin token", scheme=ADMIN_HEADER)
    if not secrets.compare_digest(token.encode(), expected.encode()):
        raise unauthorized("wrong admin token", scheme=ADMIN_HEADER)


def _result(answer: SqlAnswer) -> SqlResult:
    return SqlResult(
        columns=answer.columns,
        types=answer.types,
        rows=jsonable_encoder([list(row) for row in answer.rows]),
    )


@router.post(
    "/reports/sql",
    response_model=SqlResult,
    openapi_extra=json_body_doc(SqlRequest),
    responses=RESPONSES | problem_responses(429),  # 429: the API key's rate limit
    tags=["reports"],
)
async def run_account_sql(account: CurrentAccount, body: SqlBody, analyst: AnalystDep) -> SqlResult:
    """Run one read-only statement on your account's events (API key).

    SELECT (WITH, JOIN, UNION, subqueries) over `email_events`, `lead_status`,
    `campaign_hourly`, `send_outcomes` and `lead_steps`, each holding only your account's
    rows, or DESCRIBE of one of them; limits on time, memory, rows and bytes
    (docs/reports.md, "Analysts' access").
    """
    try:
        return _result(await analyst.run_for_account(body.query, account))
    except QueryRefused as exc:
        raise ProblemError(400, f"query refused: {exc}") from exc


@router.post(
    "/internal/sql",
    response_model=SqlResult,
    dependencies=[Depends(_check_token)],  # before the body: it is read by a dependency
    openapi_extra=json_body_doc(SqlRequest),
    responses=RESPONSES,
    tags=["internal"],
)
async def run_sql(body: SqlBody, analyst: AnalystDep) -> SqlResult:
    """Run one read-only statement on every account's data (operators; admin token).

    SELECT/WITH, SHOW, DESCRIBE or EXPLAIN, with no INTO OUTFILE, SETTINGS, FORMAT, or
    function that reads files or other servers; limits on time, memory, rows and bytes.
    """
    try:
        return _result(await analyst.run_admin(body.query))
    except QueryRefused as exc:
        raise ProblemError(400, f"query refused: {exc}") from exc
