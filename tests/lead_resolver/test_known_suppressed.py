"""The resolver's filter of an account's suppressed addresses (`known_suppressed.py`): a
page it screens flags every lead as the page probing each lead does, and what it cannot
have seen is left to the sender by the page's `resolved_xmin`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from services.lead_resolver import store
from services.lead_resolver.known_suppressed import CATCH_UP, SUPPRESSED_AT, KnownSuppressed
from shared.conditions import compile_condition, parse_condition
from shared.db import INDEX_PROBES
from tests import factories
from tests.plans import custom_plan_scans, generic_plan_scans
from tests.send_path import seed_campaign

pytestmark = pytest.mark.postgres

FIRST = store.FIRST_CONDITION_PARAM
FLAGS = ("id", "unsubscribed", "suppressed", "blocked")


async def _page(pool: asyncpg.Pool, campaign_id: Any, known: KnownSuppressed | None) -> list[Any]:
    campaign = await store.load(pool, campaign_id)
    assert campaign is not None
    compiled = compile_condition(
        parse_condition(campaign.condition), now=campaign.audience_at, first_param=FIRST
    )
    return await store.leads_page(pool, campaign, compiled.sql, list(compiled.params), 500, known)


class _RecordingKnown(KnownSuppressed):
    """`KnownSuppressed` noting the xmin each catch-up returns."""

    def __init__(self) -> None:
        super().__init__()
        self.xmins: list[int] = []

    async def catch_up(self, conn: asyncpg.Connection, account_id: UUID) -> int:
        xmin = await super().catch_up(conn, account_id)
        self.xmins.append(xmin)
        return xmin


async def test_a_screened_page_flags_every_lead_as_the_probed_page(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=80, suppressed=5, unsubscribed=3)
    acc = seeded.account_id
    # a lead written around the API with an upper-case address, suppressed in lower case
    await pool.execute(
        "INSERT INTO leads (account_id, email, country) VALUES ($1, 'Upper@Example.com', 'DE')",
        acc,
    )
    await factories.suppress(pool, acc, ["upper@example.com"])
    await pool.execute(  # as if before the launch: excluded
        "UPDATE suppressions SET created_at = now() - interval '1 day'"
        " WHERE account_id = $1 AND email = 'upper@example.com'",
        acc,
    )
    # and suppressions written since the launch: blocked, not excluded
    since = [
        r["email"]
        for r in await pool.fetch(
            "SELECT email FROM leads WHERE account_id = $1 AND email LIKE 'm%' LIMIT 4", acc
        )
    ]
    await factories.suppress(pool, acc, since)
    probed = await _page(pool, seeded.campaign_id, None)
    known = _RecordingKnown()
    screened = await _page(pool, seeded.campaign_id, known)
    assert [tuple(r[f] for f in FLAGS) for r in screened] == [
        tuple(r[f] for f in FLAGS) for r in probed
    ]
    assert sum(r["suppressed"] for r in screened) == 6  # 5 + the upper-case one
    assert sum(r["blocked"] and not r["suppressed"] for r in screened) == 4 + 3
    # the batches carry the filter's catch-up xmin (what the sender screens from), not the
    # page's own: an earlier page's xmin is no bound (another session may end in between)
    assert known.xmins and {r["resolved_xmin"] for r in screened} == {known.xmins[-1]}
    again = await _page(pool, seeded.campaign_id, known)  # caught up, not read whole again
    assert [r["blocked"] for r in again] == [r["blocked"] for r in screened]
    assert known.filter(acc).reads == 1


async def test_a_suppression_committing_during_a_page_is_left_to_the_sender(
    pg_dsn: str, pool: asyncpg.Pool
) -> None:
    seeded = await seed_campaign(pool, matching=60)
    acc = seeded.account_id
    known = KnownSuppressed()
    await _page(pool, seeded.campaign_id, known)  # the filter read whole
    address = await pool.fetchval(
        "SELECT email FROM leads WHERE account_id = $1 ORDER BY id LIMIT 1", acc
    )
    writer = await asyncpg.connect(pg_dsn)
    try:
        tx = writer.transaction()
        await tx.start()
        await factories.suppress(writer, acc, [address])
        # a later transaction completes first: the next snapshot's xmax passes the writer's
        await pool.fetchval("SELECT pg_current_xact_id()")
        page = await _page(pool, seeded.campaign_id, known)
        await tx.commit()
    finally:
        await writer.close()
    assert not any(r["blocked"] for r in page)  # not committed when the page was read
    xact = await pool.fetchval(
        "SELECT xact::text::bigint FROM suppressions WHERE account_id = $1", acc
    )
    assert xact >= page[0]["resolved_xmin"]  # so the sender's range reads it
    later = await _page(pool, seeded.campaign_id, known)
    assert [r["email"] for r in later if r["blocked"]] == [address]


async def test_the_catch_up_and_the_probes_read_the_accounts_indexes(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        caught = await generic_plan_scans(conn, CATCH_UP, ["uuid", "text", "text[]"])
        probes = await generic_plan_scans(conn, SUPPRESSED_AT, ["uuid", "text[]"])
    finally:
        await conn.close()
    assert caught and all(
        set(str(s.index).split("+")) == {"suppressions_account_xact"} for s in caught
    ), caught
    assert probes and all(s.index == "suppressions_pkey" for s in probes), probes


async def test_the_probes_use_the_whole_key_when_the_statistics_are_stale(
    pool: asyncpg.Pool, pg_dsn: str
) -> None:
    """Statistics taken while the account had a few suppressions, then 20,000 more: each
    address is still an index condition, not a filter over the account's range of the key
    (which `email = ANY($2)` planned, 3.4 ms a page at 1M leads)."""
    seeded = await seed_campaign(pool, matching=3, suppressed=2)
    await pool.execute("ANALYZE suppressions")
    many = [f"bounced{i}@example.com" for i in range(20_000)]
    await factories.suppress(pool, seeded.account_id, many)
    asked = ["bounced7@example.com", "nobody@example.com"]
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        await conn.execute("SET enable_seqscan = off")  # as a page's transaction is
        custom = await custom_plan_scans(conn, SUPPRESSED_AT, [seeded.account_id, asked])
        generic = await generic_plan_scans(conn, SUPPRESSED_AT, ["uuid", "text[]"])
        found = await conn.fetch(SUPPRESSED_AT, seeded.account_id, asked)
    finally:
        await conn.close()
    for scans in (custom, generic):
        probes = [s for s in scans if s.relation == "suppressions"]
        assert probes, scans
        for probe in probes:
            assert probe.index == "suppressions_pkey" and probe.filter is None, probe
            assert "account_id" in str(probe.index_cond) and "email" in str(probe.index_cond)
    assert [r["email"] for r in found] == ["bounced7@example.com"]
