"""Migration 0016: new leads get time-ordered ids (UUID version 7), so the resolver's walk of
an account in id order reads the heap where the import wrote it, each block once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest
from alembic import command

from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import create_account
from shared.db import create_pool
from shared.migrations.postgres import alembic_config, upgrade_async
from tests.campaign_api.helpers import csv_leads

pytestmark = pytest.mark.postgres

# The heap block of each of an account's leads, in the order the resolver reads them.
BLOCKS_IN_ID_ORDER = """
SELECT (ctid::text::point)[0]::bigint AS block FROM leads WHERE account_id = $1 ORDER BY id
"""
# The millisecond an id was made (its first 48 bits) and the lead's created_at.
ID_TIMES = """
SELECT id,
       ('x' || replace(left(id::text, 13), '-', ''))::bit(48)::bigint AS id_ms,
       floor(date_part('epoch', created_at) * 1000)::bigint AS created_ms,
       floor(date_part('epoch', clock_timestamp()) * 1000)::bigint AS now_ms
FROM leads WHERE account_id = $1
"""


async def _import(pool: asyncpg.Pool, name: str, count: int) -> UUID:
    account, _ = await create_account(pool, name)
    report = await import_leads(
        pool, account, csv_leads(count, f"{name}.example"), ImportFormat.CSV
    )
    assert report.created == count
    return account


def _switches(blocks: list[int]) -> int:
    """How many times a walk over `blocks` moves to another block than the one before."""
    return sum(1 for before, after in zip(blocks, blocks[1:], strict=False) if before != after)


@pytest.fixture
async def pool(private_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(private_db, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def test_imported_leads_get_version_7_ids_in_the_order_they_were_written(
    pool: asyncpg.Pool,
) -> None:
    account = await _import(pool, "ordered", 3_000)
    rows = await pool.fetch(ID_TIMES, account)
    assert {row["id"].version for row in rows} == {7}
    assert {row["id"].variant for row in rows} == {"specified in RFC 4122"}
    # each id's clock lies between its transaction's start and now
    assert all(row["created_ms"] <= row["id_ms"] <= row["now_ms"] for row in rows)
    # the file's order (first_name holds the line number) is the ids' order
    names = await pool.fetch(
        "SELECT first_name FROM leads WHERE account_id = $1 ORDER BY id", account
    )
    assert [int(row["first_name"]) for row in names] == list(range(3_000))


async def test_a_later_import_sorts_after_an_earlier_one(pool: asyncpg.Pool) -> None:
    first = await _import(pool, "first", 500)
    await asyncio.sleep(0.002)  # a millisecond apart at least
    second = await _import(pool, "second", 500)
    ids = "SELECT id FROM leads WHERE account_id = $1 ORDER BY id"
    newest_first = (await pool.fetch(ids, first))[-1]["id"]
    oldest_second = (await pool.fetch(ids, second))[0]["id"]
    assert newest_first < oldest_second


async def test_the_resolvers_order_visits_each_heap_block_once(pool: asyncpg.Pool) -> None:
    """With random ids the walk changed block at almost every lead (about one read from
    outside Postgres's buffers per lead once the account outgrows them)."""
    account = await _import(pool, "walk", 20_000)
    blocks = [row["block"] for row in await pool.fetch(BLOCKS_IN_ID_ORDER, account)]
    assert len(set(blocks)) >= 100  # a walk over many blocks
    assert _switches(blocks) == len(set(blocks)) - 1


async def _insert(pool: asyncpg.Pool, name: str, count: int) -> UUID:
    """`count` leads of a new account with the ids of the column's default (the importer's
    first import makes its own, `importer._Ids`)."""
    account, _ = await create_account(pool, name)
    await pool.execute(
        "INSERT INTO leads (account_id, email) "
        "SELECT $1, 'l' || n || '@' || $2 FROM generate_series(1, $3) AS n",
        account,
        f"{name}.example",
        count,
    )
    return account


async def test_the_column_default_makes_time_ordered_ids_too(pool: asyncpg.Pool) -> None:
    account = await _insert(pool, "default", 200)
    rows = await pool.fetch(ID_TIMES, account)
    assert {row["id"].version for row in rows} == {7}
    assert all(row["created_ms"] <= row["id_ms"] <= row["now_ms"] for row in rows)
    in_id_order = await pool.fetch(
        "SELECT email FROM leads WHERE account_id = $1 ORDER BY id", account
    )
    assert [row["email"] for row in in_id_order] == [f"l{n}@default.example" for n in range(1, 201)]


async def test_the_downgrade_goes_back_to_random_ids(empty_dsn: str) -> None:
    await upgrade_async(empty_dsn, "0016_lead_ids_in_time_order")
    pool = await create_pool(empty_dsn, max_size=2)
    try:
        ordered = await _insert(pool, "before", 50)
        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0015")
        await pool.expire_connections()
        random = await _insert(pool, "after", 50)
        versions = (
            "SELECT array_agg(DISTINCT (substr(id::text, 15, 1))) FROM leads WHERE account_id = $1"
        )
        assert await pool.fetchval(versions, ordered) == ["7"]
        assert await pool.fetchval(versions, random) == ["4"]
        gone = "SELECT count(*) FROM pg_proc WHERE proname = 'fanout_uuid_v7'"
        assert await pool.fetchval(gone) == 0
    finally:
        await pool.close()
