"""A large import refreshes the planner's statistics of `leads` itself, so the resolver's
first pages of a campaign launched straight after it are planned for the account it now is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from services.campaign_api.leads import importer
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from services.lead_resolver.store import FROM_START, LEADS_PAGE, PAGE_PLANNER
from shared.auth import create_account
from shared.db import create_pool
from tests.campaign_api.helpers import csv_leads

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pool(private_db: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a database of its own, where autovacuum never analyses `leads`, so only the
    importer can have refreshed its statistics."""
    pool = await create_pool(private_db, max_size=4)
    await pool.execute("ALTER TABLE leads SET (autovacuum_enabled = false)")
    try:
        yield pool
    finally:
        await pool.close()


async def _import(pool: asyncpg.Pool, account: UUID, count: int, domain: str) -> None:
    report = await import_leads(pool, account, csv_leads(count, domain), ImportFormat.CSV)
    assert report.created == count


async def _table_rows(pool: asyncpg.Pool) -> float:
    rows: float = await pool.fetchval(importer.TABLE_ROWS)
    return rows


async def _page_plan(pool: asyncpg.Pool, account: UUID) -> str:
    """The plan of the resolver's first page of a campaign taking every lead of `account`."""
    query = "EXPLAIN " + LEADS_PAGE.format(after=FROM_START, condition="l.email IS NOT NULL")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(PAGE_PLANNER)
        rows = await conn.fetch(query, account, None, 1_000, None)
    return "\n".join(r[0] for r in rows)


async def test_an_import_of_a_tenth_of_the_table_analyses_it(pool: asyncpg.Pool) -> None:
    first, _ = await create_account(pool, "first")
    second, _ = await create_account(pool, "second")
    assert await _table_rows(pool) <= 0  # never counted: a new table

    await _import(pool, first, 3_000, "one.example")
    assert await _table_rows(pool) == 3_000

    # 290 rows: under a tenth of the 3,000 (and under the floor): left to autovacuum.
    await _import(pool, second, 290, "two.example")
    assert await _table_rows(pool) == 3_000

    # Updating a tenth of the table counts too: the values the planner knows changed.
    report = await import_leads(pool, first, csv_leads(1_000, "one.example"), ImportFormat.CSV)
    assert report.updated == 1_000
    assert await _table_rows(pool) == 3_290


async def test_a_small_table_is_not_analysed_for_every_few_rows(pool: asyncpg.Pool) -> None:
    account, _ = await create_account(pool, "small")
    await _import(pool, account, importer.ANALYZE_MIN_ROWS - 1, "small.example")
    assert await _table_rows(pool) <= 0


async def test_the_resolver_page_after_a_large_import_reads_the_account_in_order(
    pool: asyncpg.Pool,
) -> None:
    """Planned with the statistics of before the import (the account had 300 leads), the page
    was a bitmap scan of all the account's leads and a sort, once per page; with them fresh it
    walks an index in id order and stops at the page's end."""
    old, _ = await create_account(pool, "old")
    fresh, _ = await create_account(pool, "fresh")
    await _import(pool, old, 3_000, "old.example")
    await _import(pool, fresh, 300, "fresh.example")  # under a tenth: not analysed

    await _import(pool, fresh, 30_000, "fresh2.example")

    plan = await _page_plan(pool, fresh)
    assert "Sort" not in plan, plan
    assert "Bitmap Heap Scan on leads" not in plan, plan
    assert "Index Scan using leads_" in plan, plan  # (account, id) or the id itself: in order
