"""`fetch_whole_value` lets PostgreSQL run a query on parallel workers; `fetchval` cannot.

asyncpg's `fetchval` executes the portal for one row; a portal that may be suspended runs
its plan in the calling backend alone, Gather or not. The condition previews count a
million leads with the helper so that their plans' workers start (docs/conditions.md).

Seen from inside the query: a function marked parallel safe returns the pid of the
backend that evaluates it; with the planner told to put every plan under a Gather
(`debug_parallel_query`, `force_parallel_mode` before PostgreSQL 16), rows evaluated by a
worker carry another pid than the session's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.db import fetch_whole_value

pytestmark = pytest.mark.postgres

BACKEND = """
CREATE OR REPLACE FUNCTION fanout_test_evaluating_backend() RETURNS int
LANGUAGE plpgsql PARALLEL SAFE AS $$ BEGIN RETURN pg_backend_pid(); END $$
"""
ROWS = 1000
ELSEWHERE = """
SELECT count(*) FROM generate_series(1, $1) WHERE fanout_test_evaluating_backend() <> $2
"""


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A session whose every plan goes under a Gather, with the probing function."""
    async with pool.acquire() as conn:
        await conn.execute(BACKEND)
        version = int(await conn.fetchval("SHOW server_version_num"))
        force = "debug_parallel_query" if version >= 160000 else "force_parallel_mode"
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL {force} = on")
                await conn.execute("SET LOCAL max_parallel_workers_per_gather = 2")
                yield conn
        finally:
            await conn.execute("DROP FUNCTION IF EXISTS fanout_test_evaluating_backend()")


async def test_whole_value_is_computed_by_a_parallel_worker(conn: asyncpg.Connection) -> None:
    session = await conn.fetchval("SELECT pg_backend_pid()")
    assert await fetch_whole_value(conn, ELSEWHERE, ROWS, session) == ROWS


async def test_fetchval_keeps_the_query_in_the_session(conn: asyncpg.Connection) -> None:
    """What the helper exists for: the same query through `fetchval` never leaves it."""
    session = await conn.fetchval("SELECT pg_backend_pid()")
    assert await conn.fetchval(ELSEWHERE, ROWS, session) == 0


async def test_whole_value_of_no_rows_is_none(conn: asyncpg.Connection) -> None:
    assert await fetch_whole_value(conn, "SELECT 1 WHERE false") is None
