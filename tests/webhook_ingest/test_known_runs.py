"""webhook_ingest's filter of the addresses with a soft-bounce run (`known_runs.py`): it
never misses a run committed before its catch-up, whichever instance or transaction wrote
it and in whatever order they committed, and it spares the look-up of the others."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
from alembic import command

from services.webhook_ingest import suppressions
from services.webhook_ingest.known_runs import CATCH_UP, KnownRuns
from shared.contracts.events import EventType
from shared.contracts.fast_events import FastEvent
from shared.db import GENERIC_INDEX_PROBES
from shared.migrations.postgres import alembic_config, upgrade_async
from tests import factories
from tests.plans import generic_plan_scans

pytestmark = [pytest.mark.postgres]

RUN = "INSERT INTO soft_bounces (account_id, email) VALUES ($1, $2)"
T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def _with_conn(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings=GENERIC_INDEX_PROBES)


async def test_a_run_committed_after_the_last_catch_up_is_known_at_the_next(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    acc = (await factories.account(pool)).id
    known = KnownRuns()
    conn = await _with_conn(pg_dsn)
    try:
        await pool.execute(RUN, acc, "before@example.com")
        await known.catch_up(conn)  # the first: the whole table
        assert known.may_have((acc, "before@example.com"))
        await pool.execute(RUN, acc, "after@example.com")  # another instance's bounce
        assert not known.may_have((acc, "after@example.com"))
        await known.catch_up(conn)
        assert known.may_have((acc, "after@example.com"))
        assert known.reads == 1  # caught up, not read whole again
        never = [(acc, f"never{i}@example.com") for i in range(200)]
        assert sum(map(known.may_have, never)) < 20  # about 1 % false positives
    finally:
        await conn.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc)


async def test_a_run_of_a_transaction_running_at_the_catch_up_is_known_once_committed(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    # the slow writer's transaction id is below the catch-up's xmax, and a later writer
    # commits first: only the catch-up's list of running transactions still covers it
    acc = (await factories.account(pool)).id
    known = KnownRuns()
    conn, slow, quick = [await _with_conn(pg_dsn) for _ in range(3)]
    try:
        await known.catch_up(conn)
        tx = slow.transaction()
        await tx.start()
        await slow.execute(RUN, acc, "slow@example.com")
        await known.catch_up(conn)
        await quick.execute(RUN, acc, "quick@example.com")
        await known.catch_up(conn)
        assert known.may_have((acc, "quick@example.com"))
        await tx.commit()
        await known.catch_up(conn)
        assert known.may_have((acc, "slow@example.com"))
    finally:
        for c in (conn, slow, quick):
            await c.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc)


async def test_a_run_written_by_the_catching_up_transaction_is_known_after_it_commits(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    # a request's transaction has an id (its suppressions) before it catches up, then
    # writes a run: the transaction is not in its own snapshot's list of running ones
    acc = (await factories.account(pool)).id
    known = KnownRuns()
    conn, other = await _with_conn(pg_dsn), await _with_conn(pg_dsn)
    try:
        await known.catch_up(other)
        async with conn.transaction():
            await factories.suppress(conn, acc, ["hard@example.com"])
            # a later transaction completes first: the snapshot's xmax passes this one's id
            await other.execute(RUN, acc, "later@example.com")
            await known.catch_up(conn)
            await conn.execute(RUN, acc, "own@example.com")
        await known.catch_up(other)
        assert known.may_have((acc, "own@example.com"))
    finally:
        await conn.close()
        await other.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc)


def _event(acc: UUID, email: str, kind: EventType, at: datetime) -> FastEvent:
    return FastEvent(
        event_id=uuid.uuid4(),
        account_id=acc,
        campaign_id=uuid.uuid4(),
        lead_id=uuid.uuid4(),
        email=email,
        type=kind,
        provider="simulator",
        occurred_at=at,
        bounce_type="soft" if kind == EventType.BOUNCED else None,
    )


async def _record(
    conn: asyncpg.Connection, known: KnownRuns, events: list[FastEvent], threshold: int = 2
) -> None:
    async with conn.transaction():
        await suppressions.apply(conn, suppressions.Changes.of(events), threshold, known)


async def test_a_delivery_ends_a_run_another_instance_started(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    acc = (await factories.account(pool)).id
    first, second = KnownRuns(), KnownRuns()
    a, b = await _with_conn(pg_dsn), await _with_conn(pg_dsn)
    try:
        await first.catch_up(a)
        await second.catch_up(b)  # both filters read before the address had a run
        await _record(a, first, [_event(acc, "x@example.com", EventType.BOUNCED, T0)])
        later = T0 + timedelta(hours=1)
        await _record(b, second, [_event(acc, "x@example.com", EventType.DELIVERED, later)])
        ended = await pool.fetchval(
            "SELECT last_delivered_at FROM soft_bounces WHERE account_id = $1", acc
        )
        assert ended == later
        # so the next soft bounce starts a new run of one, under the threshold of two
        bounce = _event(acc, "x@example.com", EventType.BOUNCED, later + timedelta(hours=1))
        await _record(a, first, [bounce])
        assert (
            await pool.fetchval("SELECT count(*) FROM suppressions WHERE account_id = $1", acc) == 0
        )
    finally:
        await a.close()
        await b.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc)


async def test_deliveries_of_addresses_without_a_run_are_not_looked_up(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    acc = (await factories.account(pool)).id
    await pool.execute(RUN, acc, "run@example.com")
    known = KnownRuns()
    conn = await _with_conn(pg_dsn)
    statements: list[str] = []
    conn.add_query_logger(lambda record: statements.append(record.query))
    try:
        delivered = [
            _event(acc, f"d{i}@example.com", EventType.DELIVERED, T0 + timedelta(seconds=i))
            for i in range(300)
        ]
        await _record(conn, known, delivered)
        assert not any("INSERT INTO soft_bounces" in s for s in statements)
        statements.clear()
        await _record(
            conn, known, [*delivered, _event(acc, "run@example.com", EventType.DELIVERED, T0)]
        )
        assert sum("INSERT INTO soft_bounces" in s for s in statements) == 1
        assert (
            await pool.fetchval(
                "SELECT last_delivered_at FROM soft_bounces WHERE account_id = $1", acc
            )
            == T0
        )
    finally:
        await conn.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc)


async def test_a_full_filter_is_read_whole_again(empty_dsn: str) -> None:
    await upgrade_async(empty_dsn)
    known = KnownRuns(min_capacity=10)
    conn = await _with_conn(empty_dsn)
    try:
        acc = await conn.fetchval("INSERT INTO accounts (name) VALUES ('a') RETURNING id")
        await known.catch_up(conn)
        emails = [f"r{i}@example.com" for i in range(25)]
        await conn.executemany(RUN, [(acc, e) for e in emails])
        await known.catch_up(conn)  # 25 rows in a filter made for 10
        assert known.reads == 1 and all(known.may_have((acc, e)) for e in emails)
        await known.catch_up(conn)
        assert known.reads == 2 and all(known.may_have((acc, e)) for e in emails)
    finally:
        await conn.close()


async def test_the_catch_up_reads_the_transactions_index(pg_dsn: str) -> None:
    conn = await _with_conn(pg_dsn)
    try:
        scans = await generic_plan_scans(conn, CATCH_UP, ["text", "text[]"])
    finally:
        await conn.close()
    runs = [s for s in scans if s.relation == "soft_bounces"]
    # a bitmap of the two conditions (from the last xmax on, or one of the running ones)
    assert runs and all(set(str(s.index).split("+")) == {"soft_bounces_xact"} for s in runs), runs


async def test_the_migration_marks_old_rows_zero_and_new_rows_with_their_writer(
    empty_dsn: str,
) -> None:
    await upgrade_async(empty_dsn, "0017_screening_since_resolved")
    conn = await asyncpg.connect(empty_dsn)
    try:
        acc = await conn.fetchval("INSERT INTO accounts (name) VALUES ('a') RETURNING id")
        await conn.execute(RUN, acc, "old@example.com")
        await upgrade_async(empty_dsn, "0018_soft_bounces_xact")
        async with conn.transaction():
            await conn.execute(RUN, acc, "new@example.com")
            writer = await conn.fetchval("SELECT pg_current_xact_id()::text")
        xacts = dict(await conn.fetch("SELECT email, xact::text FROM soft_bounces"))
        assert xacts == {"old@example.com": "0", "new@example.com": writer}
        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0017")
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_attribute WHERE attname = 'xact'"
            " AND attrelid = 'soft_bounces'::regclass"
        )
        assert left == 0
    finally:
        await conn.close()
