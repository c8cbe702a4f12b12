"""The ledger's look-ups on a session like the sender's (`shared.db.GENERIC_INDEX_PROBES`): what
blocks a batch is exactly the account's suppressions and unsubscribed leads (Guarantee 5,
checked per batch at send time), in-flight leads merge, a record is once; and every
per-key look-up is an index probe, never a scan or a hash of a whole table, whatever
size the tables had when the plan was made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from services.sender import ledger
from services.sender.outcomes import Outcome
from services.sender.screening import Blocked
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.db import GENERIC_INDEX_PROBES, INDEX_PROBES, create_pool
from shared.settings import CommonSettings
from tests import factories
from tests.databases import scratch_database
from tests.plans import custom_plan_scans, generic_plan_scans

FIND_TYPES = ["uuid[]", "bigint[]", "bigint[]", "uuid[]", "text[]", "bigint[]", "uuid[]"]
MARK_TYPES = ["uuid[]", "bigint[]", "uuid[]", "int[]", "int[]"]
RECORD_TYPES = [
    "uuid[]", "bigint[]", "int[]", "int[]", "int[]", "int[]", "text[]", "timestamptz[]",
    "text[]", "text[]", "timestamptz[]",
]  # fmt: skip
PROBES = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}  # each by its key


async def test_find_mark_and_record_on_index_probes(pg_dsn: str, pool: asyncpg.Pool) -> None:
    probes = await create_pool(pg_dsn, max_size=2, planner=GENERIC_INDEX_PROBES)
    try:
        acc, other = await factories.account(pool), await factories.account(pool)
        campaign = await factories.campaign(pool, acc.id)
        emails = [f"p{i}-{uuid.uuid4().hex[:8]}@example.com" for i in range(6)]
        leads = [await factories.lead(pool, acc.id, email) for email in emails]
        # the first recipient's address in upper case: suppressions are stored lower case
        recipients = [
            FastRecipient(lead_id=lead, email=email.upper() if i == 0 else email)
            for i, (lead, email) in enumerate(zip(leads, emails, strict=True))
        ]
        await factories.suppress(pool, acc.id, emails[:2])
        await factories.suppress(pool, other.id, [emails[2], emails[4]])  # never blocks acc
        await factories.unsubscribe(pool, acc.id, [leads[3]])
        run = uuid.uuid4()
        first, second = (
            FastSendBatch(
                campaign_id=campaign, account_id=acc.id, run_id=run, batch_no=n, recipients=part
            )
            for n, part in ((0, recipients[:4]), (1, recipients[4:]))
        )

        found = await ledger.find_many(probes, [first, second])
        assert found[0] == ledger.Found(
            blocked=Blocked(frozenset(emails[:2]), frozenset({leads[3]}))
        )
        assert found[1] == ledger.Found()

        # one batch twice in one statement, then again: its in-flight leads are the union
        await ledger.mark_in_flight_many(
            probes, [(first, leads[:2]), (first, leads[1:3]), (second, [leads[4]])]
        )
        await ledger.mark_in_flight(probes, second, [leads[5], leads[4]])
        found = await ledger.find_many(probes, [first, second])
        assert [f.in_flight for f in found] == [frozenset(leads[:3]), frozenset(leads[4:])]
        stored = await pool.fetchval(
            "SELECT lead_ids FROM send_batch_attempts WHERE campaign_id = $1 AND batch_no = 1",
            campaign,
        )
        assert sorted(stored) == sorted(leads[4:])  # no lead twice

        outcomes = [Outcome(r, EventType.SENT, f"<{r.lead_id}@fanout>") for r in second.recipients]
        at = datetime.now(UTC)
        assert await ledger.record(probes, second, outcomes, at) is True
        assert await ledger.record(probes, second, outcomes, at) is False
        found = await ledger.find_many(probes, [first, second])
        assert found[1].recorded == ledger.Recorded(at, outcomes)
        assert found[1].in_flight == frozenset()  # the record dropped the in-flight row
        assert found[0].recorded is None and found[0].in_flight == frozenset(leads[:3])
    finally:
        await probes.close()


async def test_ledger_look_ups_are_index_probes(pg_dsn: str, pool: asyncpg.Pool) -> None:
    # a look-up of 500 addresses and leads against 3,000 analysed suppressions: planned with
    # its keys, a join here hashed a whole table (every account's unsubscribed leads)
    acc = await factories.account(pool)
    emails = [f"s{i}@example.com" for i in range(3000)]
    await factories.suppress(pool, acc.id, emails)
    await pool.execute("ANALYZE suppressions")
    many = 500
    at = [i % 10 + 1 for i in range(many)]
    keys = [[uuid.uuid4()] * 10, list(range(10))]
    probed = [*keys, at, [acc.id] * many, emails[:many], at, [uuid.uuid4() for _ in at]]
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        find = await generic_plan_scans(conn, ledger.FIND, FIND_TYPES)
        find += await custom_plan_scans(conn, ledger.FIND, probed)
        mark = await generic_plan_scans(conn, ledger.MARK_IN_FLIGHT, MARK_TYPES)
    finally:
        await conn.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc.id)
    assert {s.relation for s in find} == {
        "suppressions",
        "leads",
        "send_batch_outcomes",
        "send_batch_attempts",
    }
    assert {s.relation for s in mark} == {"campaigns"}
    for scan in find + mark:
        assert scan.node in PROBES and not scan.hashed, scan


async def test_mark_and_record_probe_campaigns_even_when_the_table_was_empty(
    base_settings: CommonSettings,
) -> None:
    # planned while `campaigns` held no row (a fresh database, as a new deployment's), an
    # `EXISTS` here became a hash join reading every campaign on each call; the lateral
    # `LIMIT 1` is one probe per batch whatever the table's size at planning time
    async with scratch_database(base_settings.database_url, prefix="fanout_plans") as dsn:
        conn = await asyncpg.connect(dsn, server_settings=INDEX_PROBES)
        try:
            await conn.execute("ANALYZE campaigns")
            mark = await generic_plan_scans(conn, ledger.MARK_IN_FLIGHT, MARK_TYPES)
            record = await generic_plan_scans(conn, ledger.RECORD, RECORD_TYPES)
        finally:
            await conn.close()
    assert [s.relation for s in mark] == ["campaigns"]
    assert {s.relation for s in record} == {"campaigns", "send_batch_attempts"}
    for scan in mark + record:
        assert scan.node in PROBES and not scan.hashed, scan


async def test_detail_is_kept_as_the_text_the_sender_wrote(pool: asyncpg.Pool) -> None:
    # migration 0014: `detail` is text, so Postgres neither parses nor re-serialises it; a
    # replay reads back exactly what was recorded, awkward reasons and addresses included
    acc = await factories.account(pool)
    campaign = await factories.campaign(pool, acc.id)
    recipients = [
        FastRecipient(lead_id=uuid.uuid4(), email=email)
        for email in ("zoë@exämple.com", 'quote"d@example.com', "plain@example.com")
    ]
    batch = FastSendBatch(
        campaign_id=campaign, account_id=acc.id, run_id=uuid.uuid4(), batch_no=7,
        recipients=recipients,
    )  # fmt: skip
    outcomes = [
        Outcome(recipients[0], EventType.SENT, "<m-0@fanout>"),
        Outcome(recipients[1], EventType.FAILED, reason='550 "no such user"\nline two \u2028 ✉'),
        Outcome(recipients[2], EventType.SUPPRESSED, reason="suppressed: bounced"),
    ]
    at = datetime.now(UTC)
    assert await ledger.record(pool, batch, outcomes, at) is True
    stored = await pool.fetchrow(
        "SELECT pg_typeof(detail)::text AS type, detail FROM send_batch_outcomes "
        "WHERE campaign_id = $1 AND batch_no = 7",
        campaign,
    )
    assert stored is not None
    assert stored["type"] == "text"
    assert stored["detail"] == ledger.encode_detail(outcomes)
    found = await ledger.find(pool, batch)
    assert found.recorded == ledger.Recorded(at, outcomes)
