"""`POST /internal/sql`: read-only SQL for the local admin (`fanout sql`).

In embedded mode only report_sink may open the chDB folder, so analysts' queries go
through it. The query runs on a dedicated client whose session is `readonly=1` (no
writes, no DDL, no changing settings) with a row limit and a time limit. It sees every
account's data, so it takes the admin token, not an API key.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from clickhouse_connect.driver.exceptions import ClickHouseError
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder

from services.report_sink.api.deps import SettingsDep
from services.report_sink.api.models import SqlRequest, SqlResult
from shared.clickhouse import AsyncClickHouse

router = APIRouter(prefix="/internal", tags=["internal"])
ADMIN_HEADER = "X-Fanout-Admin-Token"


def _check_token(request: Request, token: str | None) -> None:
    expected: str = request.app.state.admin_token
    if token is None or not secrets.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing or wrong {ADMIN_HEADER}")


@router.post("/sql", response_model=SqlResult)
async def run_sql(
    body: SqlRequest,
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Header(alias=ADMIN_HEADER)] = None,
) -> SqlResult:
    """Run one read-only query (readonly=1) with a row and a time limit; admin token only."""
    _check_token(request, token)
    analyst: AsyncClickHouse = request.app.state.analyst
    try:
        columns, types, rows = await analyst.query(body.query)
    except ClickHouseError as exc:
        message = str(exc).split("\n", 1)[0][:2000]
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"query refused: {message}") from exc
    limit = settings.sql_max_rows
    return SqlResult(
        columns=columns,
        types=types,
        rows=jsonable_encoder([list(r) for r in rows[:limit]]),
        truncated=len(rows) > limit,
    )
