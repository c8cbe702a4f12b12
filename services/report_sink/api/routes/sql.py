"""`POST /internal/sql`: read-only SQL for the local admin (`fanout sql`).

In embedded mode only report_sink may open the chDB folder, so analysts' queries go
through it. The query runs on a dedicated client whose session is `readonly=1` (no
writes, no DDL, no changing settings) with a row limit and a time limit. It sees every
account's data, so it takes the admin token, not an API key. The token is checked
before the body is read (and the body limit before anything), so a stranger cannot
make the service read a large body.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Depends, Header
from fastapi.encoders import jsonable_encoder

from services.report_sink.api.deps import AdminTokenDep, AnalystDep, SettingsDep
from services.report_sink.api.models import SqlRequest, SqlResult
from shared.auth import unauthorized
from shared.http.json_body import json_body, json_body_doc
from shared.http.problems import ProblemError, problem_responses

router = APIRouter(prefix="/internal", tags=["internal"])
ADMIN_HEADER = "X-Fanout-Admin-Token"


async def _check_token(
    expected: AdminTokenDep, token: Annotated[str | None, Header(alias=ADMIN_HEADER)] = None
) -> None:
    if token is None:
        raise unauthorized("missing admin token", scheme=ADMIN_HEADER)
    if not secrets.compare_digest(token.encode(), expected.encode()):
        raise unauthorized("wrong admin token", scheme=ADMIN_HEADER)


@router.post(
    "/sql",
    response_model=SqlResult,
    dependencies=[Depends(_check_token)],  # before the body: it is read by a dependency
    openapi_extra=json_body_doc(SqlRequest),
    # 400: ClickHouse refused the query (a write, a syntax error, a limit); detail says why
    responses=problem_responses(400, 401, 413, 422),
)
async def run_sql(
    body: Annotated[SqlRequest, Depends(json_body(SqlRequest))],
    analyst: AnalystDep,
    settings: SettingsDep,
) -> SqlResult:
    """Run one read-only query (readonly=1) with a row and a time limit; admin token only."""
    try:
        columns, types, rows = await analyst.query(body.query)
    except ClickHouseError as exc:
        message = str(exc).split("\n", 1)[0][:2000]
        raise ProblemError(400, f"query refused: {message}") from exc
    limit = settings.sql_max_rows
    return SqlResult(
        columns=columns,
        types=types,
        rows=jsonable_encoder([list(r) for r in rows[:limit]]),
        truncated=len(rows) > limit,
    )
