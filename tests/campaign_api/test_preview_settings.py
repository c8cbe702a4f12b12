"""What a condition preview (and the launch's template check) sets for its transaction: the
time limit, and no JIT compilation (services/campaign_api/segments.py, docs/conditions.md)."""

from __future__ import annotations

import json

import asyncpg
import pytest

from services.campaign_api.segments import PREVIEW_SETTINGS, PREVIEW_TIMEOUT_MS

pytestmark = pytest.mark.postgres

# JIT for any plan at all, as an account large enough would get it for a date condition
EVERY_PLAN_JITTED = (
    "SET LOCAL jit_above_cost = 0; SET LOCAL jit_optimize_above_cost = 0; "
    "SET LOCAL jit_inline_above_cost = 0"
)
COUNT = "EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*) FROM generate_series(1, 1000) g"


async def _jitted(conn: asyncpg.Connection, *settings: str) -> bool:
    async with conn.transaction():
        for statement in settings:
            await conn.execute(statement)
        plan = json.loads(await conn.fetchval(COUNT))[0]
    return "JIT" in plan


async def test_preview_settings_turn_jit_off_for_the_transaction_only(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_jit_available()")  # the stack's PostgreSQL has it
        assert await _jitted(conn, EVERY_PLAN_JITTED)
        assert not await _jitted(conn, EVERY_PLAN_JITTED, PREVIEW_SETTINGS)
        assert await _jitted(conn, EVERY_PLAN_JITTED)  # LOCAL: the next transaction JITs again


async def test_preview_settings_limit_the_statement_time(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(PREVIEW_SETTINGS)
            limit = await conn.fetchval("SELECT current_setting('statement_timeout')")
        assert limit == f"{PREVIEW_TIMEOUT_MS // 1000}s"
        assert await conn.fetchval("SELECT current_setting('statement_timeout')") != limit
