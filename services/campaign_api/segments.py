"""The audience of a campaign: a JSON condition (shared.conditions) checked and counted here.

Invalid conditions answer 422 with the JSON path of the offending node and
what was expected there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.conditions import Condition, ConditionError, compile_condition, parse_condition
from shared.db import fetch_whole_value
from shared.http.problems import invalid

PREVIEW_TIMEOUT_MS = 20_000
# For the rest of the transaction: its time limit, and no JIT compilation. The queries over
# an account's leads are one scan and a count; once the planner's estimate crosses
# jit_optimize_above_cost (an account of a few million leads, a date condition) the leader
# and each parallel worker spend about a second optimising code that then runs for less.
PREVIEW_SETTINGS = f"SET LOCAL statement_timeout = {PREVIEW_TIMEOUT_MS}; SET LOCAL jit = off"
LEAD_COLUMNS = (
    "l.id, l.email, l.first_name, l.last_name, l.country, l.tags, l.attributes, "
    "l.created_at, l.updated_at, l.unsubscribed_at"
)


def condition_or_422(raw: Any, field: str = "condition") -> Condition:
    """The parsed condition, or 422 naming the JSON path and what was expected."""
    try:
        return parse_condition(raw)
    except ConditionError as exc:
        message = f"{exc.path}: {exc.message}"
        raise invalid(["body", field], message, "condition", path=exc.path) from exc


async def preview_segment(
    pool: asyncpg.Pool, account_id: UUID, condition: Condition, now: datetime, sample: int
) -> tuple[int, list[asyncpg.Record]]:
    """How many of the account's leads match, and up to `sample` of them (sorted by id).

    The sample has no ORDER BY on purpose: ordering by id makes Postgres walk the
    (account_id, id) index and filter, which takes seconds on a million leads when
    few match; without it the sample costs at most one scan, like the count.
    """
    compiled = compile_condition(condition, now=now, first_param=2)
    where = f"l.account_id = $1 AND ({compiled.sql})"
    limit_param = len(compiled.params) + 2
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(PREVIEW_SETTINGS)
        matched: int = await fetch_whole_value(  # in parallel where the plan says so
            conn, f"SELECT count(*) FROM leads l WHERE {where}", account_id, *compiled.params
        )
        rows = await conn.fetch(
            f"SELECT {LEAD_COLUMNS} FROM leads l WHERE {where} LIMIT ${limit_param}",
            account_id,
            *compiled.params,
            sample,
        )
    return matched, sorted(rows, key=lambda r: r["id"])
