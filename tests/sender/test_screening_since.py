"""What blocks a batch the resolver read in a snapshot (`resolved_xmin`): what it saw
blocking (`blocked_leads`) and what was written by a transaction it may not have seen,
read as ranges of two indexes (migration 0017), not one probe per recipient; anything
else, or too much written since, is looked up by probes as before."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest
from alembic import command

from services.lead_resolver import store
from services.sender import ledger
from services.sender.screening import Blocked
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.db import GENERIC_INDEX_PROBES, INDEX_PROBES, create_pool
from shared.migrations.postgres import alembic_config, upgrade_async
from shared.settings import CommonSettings
from tests import factories
from tests.databases import scratch_database
from tests.plans import custom_plan_scans, generic_plan_scans
from tests.sender.test_ledger_probes import FIND_TYPES

# The xmin of a snapshot taken while no other transaction runs: every transaction
# committed before has a lower id, every later one this or a higher one. (A real
# snapshot's xmin is at or below it, lower while other sessions' transactions run, such as
# other tests': the look-up then reads more, never less.)
XID_NOW = "SELECT pg_current_xact_id()::text::bigint"
SNAPSHOT_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
FIND_SINCE_TYPES = ["uuid[]", "bigint[]", "uuid[]", "bigint[]", "int"]


async def _account_with_leads(
    pool: asyncpg.Pool, n: int
) -> tuple[UUID, UUID, list[str], list[UUID]]:
    acc = await factories.account(pool)
    campaign = await factories.campaign(pool, acc.id)
    emails = [f"s{i}-{uuid.uuid4().hex[:8]}@example.com" for i in range(n)]
    leads = [await factories.lead(pool, acc.id, email) for email in emails]
    return acc.id, campaign, emails, leads


def _batch(
    account: UUID,
    campaign: UUID,
    emails: list[str],
    leads: list[UUID],
    *,
    xmin: int | None,
    batch_no: int = 0,
    blocked: list[UUID] | None = None,
) -> FastSendBatch:
    return FastSendBatch(
        campaign_id=campaign,
        account_id=account,
        run_id=uuid.uuid4(),
        batch_no=batch_no,
        recipients=[FastRecipient(lead, email) for lead, email in zip(leads, emails, strict=True)],
        resolved_xmin=xmin,
        blocked_leads=blocked or [],
    )


async def test_a_batch_with_a_snapshot_is_blocked_by_what_it_saw_and_what_was_written_since(
    pool: asyncpg.Pool,
) -> None:
    acc, campaign, emails, leads = await _account_with_leads(pool, 7)
    other = await factories.account(pool)
    # before the snapshot: lead 0's address suppressed and lead 1 unsubscribed (the
    # resolver saw both: only lead 0 is passed on as blocked)
    await factories.suppress(pool, acc, [emails[0]])
    await factories.unsubscribe(pool, acc, [leads[1]])
    # a transaction that writes a suppression is open when the snapshot is taken, and
    # commits after it: the snapshot did not see it
    open_tx = await pool.acquire()
    try:
        tx = open_tx.transaction()
        await tx.start()
        await factories.suppress(open_tx, acc, [emails[2]])
        # a snapshot's xmin is at or below the id of every transaction running then
        xmin = await open_tx.fetchval(XID_NOW)
        assert await pool.fetchval(SNAPSHOT_XMIN) <= xmin
        await tx.commit()
    finally:
        await pool.release(open_tx)
    # after it: one address of each account, one unsubscribe (upper case in the batch)
    await factories.suppress(pool, acc, [emails[3]])
    await factories.suppress(pool, other.id, [emails[4]])
    await factories.unsubscribe(pool, acc, [leads[5]])
    shown = [e.upper() if i == 3 else e for i, e in enumerate(emails)]
    batch = _batch(acc, campaign, shown, leads, xmin=xmin, blocked=[leads[0]])

    found = await ledger.find(pool, batch)
    assert found.blocked == Blocked(
        frozenset({emails[2], emails[3]}), frozenset({leads[0], leads[5]})
    )
    # the same recipients without a snapshot are probed: everything that blocks them now
    probed = await ledger.find(pool, _batch(acc, campaign, shown, leads, xmin=None, batch_no=1))
    assert probed.blocked == Blocked(
        frozenset({emails[0], emails[2], emails[3]}), frozenset({leads[1], leads[5]})
    )


async def test_one_look_up_serves_batches_of_different_snapshots_and_accounts(
    pool: asyncpg.Pool,
) -> None:
    first_acc, first_campaign, first_emails, first_leads = await _account_with_leads(pool, 3)
    second_acc, second_campaign, second_emails, second_leads = await _account_with_leads(pool, 3)
    early = await pool.fetchval(XID_NOW)
    await factories.suppress(pool, first_acc, [first_emails[0]])
    await factories.suppress(pool, second_acc, [second_emails[0]])
    late = await pool.fetchval(XID_NOW)
    await factories.suppress(pool, first_acc, [first_emails[1]])
    batches = [
        _batch(first_acc, first_campaign, first_emails, first_leads, xmin=early),
        _batch(first_acc, first_campaign, first_emails, first_leads, xmin=late, batch_no=1),
        _batch(second_acc, second_campaign, second_emails, second_leads, xmin=late),
        _batch(second_acc, second_campaign, second_emails, second_leads, xmin=None, batch_no=1),
    ]
    found = await ledger.find_many(pool, batches)
    assert [sorted(f.blocked.emails) for f in found] == [
        sorted(first_emails[:2]),
        [first_emails[1]],
        [],  # its suppression came before the snapshot (the resolver saw it)
        [second_emails[0]],  # probed: what blocks it now
    ]


async def test_an_account_with_too_much_written_since_is_probed(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    acc, campaign, emails, leads = await _account_with_leads(pool, 4)
    await factories.suppress(pool, acc, [emails[0]])  # before: not in the range
    xmin = await pool.fetchval(XID_NOW)
    await factories.suppress(pool, acc, emails[1:3])
    batch = _batch(acc, campaign, emails, leads, xmin=xmin)
    assert (await ledger.find(pool, batch)).blocked.emails == frozenset(emails[1:3])
    monkeypatch.setattr(ledger, "SINCE_LIMIT", 2)  # the range reaches the limit: probes
    assert (await ledger.find(pool, batch)).blocked.emails == frozenset(emails[:3])


async def test_the_ranges_are_read_from_their_indexes(pg_dsn: str, pool: asyncpg.Pool) -> None:
    """Planned generically on a session like the sender's, with thousands of suppressions
    and unsubscribed leads: each range is read from its index, never a whole table or the
    partial index of every unsubscribed lead."""
    acc = await factories.account(pool)
    await factories.suppress(pool, acc.id, [f"r{i}@example.com" for i in range(3000)])
    await pool.execute(
        "INSERT INTO leads (account_id, email, unsubscribed_at)"
        " SELECT $1, 'u' || g || '@example.com', now() FROM generate_series(1, 2000) g",
        acc.id,
    )
    await pool.execute("ANALYZE suppressions; ANALYZE leads")
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        scans = await generic_plan_scans(conn, ledger.FIND_SINCE, FIND_SINCE_TYPES)
    finally:
        await conn.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc.id)
    by_relation = {s.relation: s for s in scans}
    assert by_relation["suppressions"].index == "suppressions_account_xact"
    assert by_relation["leads"].index == "leads_unsubscribed_xact"
    for scan in scans:
        assert (
            scan.node in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"} and not scan.hashed
        )


async def test_the_look_up_works_on_the_senders_pooled_sessions(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    probes = await create_pool(pg_dsn, max_size=2, planner=GENERIC_INDEX_PROBES)
    try:
        acc, campaign, emails, leads = await _account_with_leads(pool, 2)
        xmin = await pool.fetchval(XID_NOW)
        await factories.suppress(pool, acc, [emails[1]])
        for n in range(7):  # from its generic plan, as the sender's sessions run it, each time
            found = await ledger.find(
                probes, _batch(acc, campaign, emails, leads, xmin=xmin, batch_no=n)
            )
            assert found.blocked.emails == frozenset({emails[1]}), n
    finally:
        await probes.close()


async def test_unsubscribed_xact_is_written_by_the_transaction_that_unsubscribes(
    pool: asyncpg.Pool,
) -> None:
    acc, _, emails, leads = await _account_with_leads(pool, 3)
    xact = "SELECT unsubscribed_xact::text::bigint FROM leads WHERE id = $1"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE leads SET unsubscribed_at = now() WHERE id = ANY($1::uuid[])", leads[:2]
        )
        mine = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
    assert [await pool.fetchval(xact, lead) for lead in leads] == [mine, mine, None]
    # an update that leaves the time as it is (an edit, the importer's upsert) keeps it
    await pool.execute(
        "UPDATE leads SET unsubscribed_at = unsubscribed_at, first_name = 'x'"
        " WHERE account_id = $1",
        acc,
    )
    await factories.leads(pool, acc, [{"email": emails[0], "first_name": "again"}])
    assert await pool.fetchval(xact, leads[0]) == mine
    # a new time (unsubscribed again after a resubscribe) is a new write
    await pool.execute("UPDATE leads SET unsubscribed_at = NULL WHERE id = $1", leads[0])
    assert await pool.fetchval(xact, leads[0]) is None  # resubscribed: no longer in the range
    await pool.execute("UPDATE leads SET unsubscribed_at = now() WHERE id = $1", leads[0])
    assert await pool.fetchval(xact, leads[0]) > mine
    suppressed_by = "SELECT xact::text::bigint FROM suppressions WHERE account_id = $1"
    async with pool.acquire() as conn, conn.transaction():
        await factories.suppress(conn, acc, [emails[2]])
        writer = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
    assert await pool.fetchval(suppressed_by, acc) == writer


async def test_the_downgrade_drops_the_columns_and_the_trigger(empty_dsn: str) -> None:
    await upgrade_async(empty_dsn, "0017_screening_since_resolved")
    await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0016")
    conn = await asyncpg.connect(empty_dsn)
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM pg_attribute WHERE attname IN ('xact', 'unsubscribed_xact')"
            " AND attrelid IN ('suppressions'::regclass, 'leads'::regclass)"
        )
        trigger = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'leads_unsubscribed_xact'"
        )
    finally:
        await conn.close()
    assert (left, trigger) == (0, 0)


async def test_the_probes_by_address_never_take_the_ranges_index(
    base_settings: CommonSettings,
) -> None:
    """The resolver's probe per lead and the sender's per recipient look an address up by
    account: planned for an account the statistics have not seen yet (a new account's
    first campaign), a plain index on (account_id, xact) looked as cheap as the primary
    key and each probe read every suppression of the account (the resolver's pages took
    44-64 ms instead of 2-3)."""
    page = store.LEADS_PAGE.format(after=store.AFTER_CHECKPOINT, condition="l.email IS NOT NULL")
    async with scratch_database(base_settings.database_url, prefix="fanout_plans") as dsn:
        conn = await asyncpg.connect(dsn, server_settings=INDEX_PROBES)
        try:
            account = "INSERT INTO accounts (name) VALUES ('a') RETURNING id"
            suppress = (
                "INSERT INTO suppressions (account_id, email, reason)"
                " SELECT $1, 'x' || g || '@example.com', 'manual'"
                " FROM generate_series(1, $2::int) g"
            )
            await conn.execute(suppress, await conn.fetchval(account), 20)
            await conn.execute("ANALYZE suppressions")
            acc = await conn.fetchval(account)  # since the statistics
            await conn.execute(suppress, acc, 3000)
            lead = uuid.uuid4()
            emails = [f"x{i}@example.com" for i in range(1, 51)]
            probed = [[uuid.uuid4()], [0], [1] * 50, [acc] * 50, emails, [1] * 50, [lead] * 50]
            async with conn.transaction():
                await conn.execute(store.PAGE_PLANNER)
                scans = await custom_plan_scans(conn, page, [acc, lead, 1000, datetime.now(UTC)])
                scans += await generic_plan_scans(
                    conn, page, ["uuid", "uuid", "int", "timestamptz"]
                )
            scans += await custom_plan_scans(conn, ledger.FIND, probed)
            scans += await generic_plan_scans(conn, ledger.FIND, FIND_TYPES)
        finally:
            await conn.close()
    probes = [s for s in scans if s.relation == "suppressions"]
    assert len(probes) == 4  # the page's and FIND's, each planned custom and generic
    assert {s.index for s in probes} == {"suppressions_pkey"}, probes
