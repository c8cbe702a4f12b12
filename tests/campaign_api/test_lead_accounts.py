"""Migration 0020: a lead's account is checked once per statement instead of by a foreign key
checked per row; what the key did, the triggers do (refusal, lock, cascade, truncate)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest
from alembic import command

from shared.auth import create_account
from shared.migrations.postgres import alembic_config, upgrade_async

pytestmark = pytest.mark.postgres

KEY = "leads_account_id_fkey"
INSERT = "INSERT INTO leads (account_id, email) VALUES ($1, $2)"
LEADS_OF = "SELECT count(*) FROM leads WHERE account_id = $1"


@pytest.fixture
async def conns(pg_dsn: str) -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    """Two connections of their own, for what one transaction does to another."""
    one, two = await asyncpg.connect(pg_dsn), await asyncpg.connect(pg_dsn)
    yield one, two
    await one.close()
    await two.close()


async def _account(pool: asyncpg.Pool) -> UUID:
    account, _ = await create_account(pool, f"accounts-{uuid.uuid4().hex[:6]}")
    return account


def _refused(exc: pytest.ExceptionInfo[asyncpg.ForeignKeyViolationError], missing: UUID) -> None:
    assert exc.value.constraint_name == KEY
    assert exc.value.table_name == "leads"
    assert f"Key (account_id)=({missing}) is not present" in (exc.value.detail or "")


async def test_a_lead_of_no_account_is_refused_as_the_key_refused_it(pool: asyncpg.Pool) -> None:
    account, missing = await _account(pool), uuid.uuid4()
    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await pool.execute(INSERT, missing, "a@x.com")
    _refused(exc, missing)
    # one statement with a lead of each: none is written
    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await pool.execute(
            "INSERT INTO leads (account_id, email) VALUES ($1, 'ok@x.com'), ($2, 'no@x.com')",
            account,
            missing,
        )
    _refused(exc, missing)
    assert await pool.fetchval(LEADS_OF, account) == 0


async def test_copy_checks_every_account_it_writes(pool: asyncpg.Pool) -> None:
    """The importer's path: a binary COPY straight into `leads`."""
    account, missing = await _account(pool), uuid.uuid4()
    records = [(account, f"{i}@x.com") for i in range(500)] + [(missing, "late@x.com")]
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
            await conn.copy_records_to_table(
                "leads", records=records, columns=["account_id", "email"]
            )
        _refused(exc, missing)
        assert await conn.fetchval(LEADS_OF, account) == 0
        await conn.copy_records_to_table(
            "leads", records=records[:-1], columns=["account_id", "email"]
        )
    assert await pool.fetchval(LEADS_OF, account) == 500


async def test_a_lead_moves_only_to_an_account_that_exists(pool: asyncpg.Pool) -> None:
    first, second, missing = await _account(pool), await _account(pool), uuid.uuid4()
    lead = await pool.fetchval(INSERT + " RETURNING id", first, "m@x.com")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await pool.execute("UPDATE leads SET account_id = $2 WHERE id = $1", lead, missing)
    _refused(exc, missing)
    await pool.execute("UPDATE leads SET account_id = $2 WHERE id = $1", lead, second)
    assert await pool.fetchval("SELECT account_id FROM leads WHERE id = $1", lead) == second


async def test_deleting_accounts_deletes_their_leads_only(pool: asyncpg.Pool) -> None:
    gone, other, kept = await _account(pool), await _account(pool), await _account(pool)
    for account in (gone, other, kept):
        await pool.executemany(INSERT, [(account, f"{i}@x.com") for i in range(30)])
    await pool.execute("DELETE FROM accounts WHERE id = ANY($1::uuid[])", [gone, other])
    assert [await pool.fetchval(LEADS_OF, a) for a in (gone, other, kept)] == [0, 0, 30]


async def test_an_account_id_does_not_change_under_its_leads(pool: asyncpg.Pool) -> None:
    """Refused by the leads' trigger (before the other tables' keys look)."""
    account = await _account(pool)
    await pool.execute(INSERT, account, "k@x.com")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await pool.execute("UPDATE accounts SET id = $2 WHERE id = $1", account, uuid.uuid4())
    assert exc.value.constraint_name == KEY
    assert exc.value.table_name == "accounts"
    assert await pool.fetchval(LEADS_OF, account) == 1


async def test_a_delete_waits_for_a_transaction_writing_the_accounts_leads(
    pool: asyncpg.Pool, conns: tuple[asyncpg.Connection, asyncpg.Connection]
) -> None:
    """The leads a transaction wrote lock their account (FOR KEY SHARE): a delete of the
    account waits for it, then deletes those leads too, so none is left without one."""
    writer, deleter = conns
    account = await _account(pool)
    async with writer.transaction():
        await writer.execute(INSERT, account, "w@x.com")
        delete = asyncio.create_task(deleter.execute("DELETE FROM accounts WHERE id = $1", account))
        await asyncio.sleep(0.5)
        assert not delete.done()  # waiting for the writer's lock on the account
    await asyncio.wait_for(delete, 10)
    assert await pool.fetchval(LEADS_OF, account) == 0
    assert await pool.fetchval("SELECT count(*) FROM accounts WHERE id = $1", account) == 0


async def test_a_lead_written_while_its_account_is_deleted_is_refused(
    pool: asyncpg.Pool, conns: tuple[asyncpg.Connection, asyncpg.Connection]
) -> None:
    writer, deleter = conns
    account = await _account(pool)
    async with deleter.transaction():
        await deleter.execute("DELETE FROM accounts WHERE id = $1", account)
        insert = asyncio.create_task(writer.execute(INSERT, account, "late@x.com"))
        await asyncio.sleep(0.5)
        assert not insert.done()  # waiting for the deleter's lock on the account
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await asyncio.wait_for(insert, 10)
    assert await pool.fetchval(LEADS_OF, account) == 0


async def test_accounts_are_deleted_at_read_committed_only(pool: asyncpg.Pool) -> None:
    account = await _account(pool)
    await pool.execute(INSERT, account, "r@x.com")
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.FeatureNotSupportedError, match="READ COMMITTED"):
            async with conn.transaction(isolation="repeatable_read"):
                await conn.execute("DELETE FROM accounts WHERE id = $1", account)
    assert await pool.fetchval(LEADS_OF, account) == 1
    await pool.execute("DELETE FROM accounts WHERE id = $1", account)
    assert await pool.fetchval(LEADS_OF, account) == 0


async def test_truncating_accounts_empties_leads(private_db: str) -> None:
    conn = await asyncpg.connect(private_db)
    try:
        account = await conn.fetchval("INSERT INTO accounts (name) VALUES ('t') RETURNING id")
        await conn.execute(INSERT, account, "t@x.com")
        await conn.execute("TRUNCATE accounts CASCADE")
        assert await conn.fetchval("SELECT count(*) FROM leads") == 0
    finally:
        await conn.close()


async def test_the_downgrade_brings_the_key_back(empty_dsn: str) -> None:
    await upgrade_async(empty_dsn, "0020_lead_accounts_per_statement")
    conn = await asyncpg.connect(empty_dsn)
    try:
        account = await conn.fetchval("INSERT INTO accounts (name) VALUES ('d') RETURNING id")
        await conn.execute(INSERT, account, "d@x.com")
        keys = "SELECT count(*) FROM pg_constraint WHERE conname = $1"
        assert await conn.fetchval(keys, KEY) == 0
        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0019")
        assert await conn.fetchval(keys, KEY) == 1
        triggers = "SELECT count(*) FROM pg_trigger WHERE tgname LIKE ANY ($1::text[])"
        assert await conn.fetchval(triggers, ["leads_account_%", "accounts_%_lead%"]) == 0
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(INSERT, uuid.uuid4(), "x@x.com")
        await conn.execute("DELETE FROM accounts WHERE id = $1", account)
        assert await conn.fetchval("SELECT count(*) FROM leads") == 0
    finally:
        await conn.close()
