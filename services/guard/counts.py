"""The guard's counters in Postgres: per campaign (total and window buckets), per account hour.

One statement per table per batch, whatever the number of events: campaign-level writes,
never a row per email. Rows are written in one order (campaign id, then bucket; account,
then hour), so two instances counting different partitions of the same campaign wait on
each other rather than deadlock. Events of a campaign or account Postgres does not know
(deleted since) are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.guard.rules import Rates
from services.guard.tally import Counts, Tally
from services.guard.window import Piece, first_kept, split

ADD_TOTALS = """
INSERT INTO guard_campaign_counts AS g (campaign_id, account_id, bucket_size, outcomes,
    delivered, bounced_hard, bounced_soft, complained)
SELECT d.campaign_id, c.account_id, d.bucket_size, d.outcomes, d.delivered, d.bounced_hard,
       d.bounced_soft, d.complained
FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
            $7::bigint[])
    AS d(campaign_id, bucket_size, outcomes, delivered, bounced_hard, bounced_soft, complained)
JOIN campaigns c ON c.id = d.campaign_id
ORDER BY d.campaign_id
ON CONFLICT (campaign_id) DO UPDATE SET
    outcomes = g.outcomes + excluded.outcomes, delivered = g.delivered + excluded.delivered,
    bounced_hard = g.bounced_hard + excluded.bounced_hard,
    bounced_soft = g.bounced_soft + excluded.bounced_soft,
    complained = g.complained + excluded.complained, updated_at = now()
RETURNING g.campaign_id, g.account_id, g.bucket_size, g.outcomes, g.bounced_hard, g.complained
"""
ADD_BUCKETS = """
INSERT INTO guard_campaign_buckets AS b (campaign_id, bucket, outcomes, bounced_hard, complained)
SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
ON CONFLICT (campaign_id, bucket) DO UPDATE SET
    outcomes = b.outcomes + excluded.outcomes,
    bounced_hard = b.bounced_hard + excluded.bounced_hard,
    complained = b.complained + excluded.complained
"""
DROP_BUCKETS = """
DELETE FROM guard_campaign_buckets b USING unnest($1::uuid[], $2::bigint[]) AS k(id, keep)
WHERE b.campaign_id = k.id AND b.bucket < k.keep
"""
WINDOWS = """
SELECT campaign_id, sum(outcomes) AS outcomes, sum(bounced_hard) AS bounced_hard,
       sum(complained) AS complained
FROM guard_campaign_buckets WHERE campaign_id = ANY($1::uuid[]) GROUP BY campaign_id
"""
ADD_HOURS = """
INSERT INTO guard_account_hours AS h (account_id, hour, outcomes, bounced_hard, complained)
SELECT d.* FROM unnest($1::uuid[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[])
    AS d(account_id, hour, outcomes, bounced_hard, complained)
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = d.account_id)
ON CONFLICT (account_id, hour) DO UPDATE SET
    outcomes = h.outcomes + excluded.outcomes,
    bounced_hard = h.bounced_hard + excluded.bounced_hard,
    complained = h.complained + excluded.complained
"""
ACCOUNT_SINCE = """
SELECT account_id, sum(outcomes) AS outcomes, sum(bounced_hard) AS bounced_hard,
       sum(complained) AS complained
FROM guard_account_hours WHERE account_id = ANY($1::uuid[]) AND hour >= $2 GROUP BY account_id
"""
PURGE_HOURS = "DELETE FROM guard_account_hours WHERE hour < $1"


@dataclass(frozen=True)
class CampaignTotals:
    """A campaign's counts after a batch, and how many outcomes it had before it."""

    account_id: UUID
    bucket_size: int
    before: int
    total: Rates


async def add_totals(
    conn: asyncpg.Connection, tally: Tally, bucket_sizes: Mapping[UUID, int]
) -> dict[UUID, CampaignTotals]:
    """Add the batch's counts to each campaign's totals; the totals after it."""
    ids = sorted(tally.campaigns)
    counts = [tally.campaigns[i] for i in ids]
    rows = await conn.fetch(
        ADD_TOTALS,
        ids,
        [bucket_sizes[i] for i in ids],
        *_columns(counts, "outcomes", "delivered", "bounced_hard", "bounced_soft", "complained"),
    )
    return {
        row["campaign_id"]: CampaignTotals(
            account_id=row["account_id"],
            bucket_size=row["bucket_size"],
            before=row["outcomes"] - tally.campaigns[row["campaign_id"]].outcomes,
            total=Rates(row["outcomes"], row["bounced_hard"], row["complained"]),
        )
        for row in rows
    }


async def add_to_windows(
    conn: asyncpg.Connection, tally: Tally, totals: Mapping[UUID, CampaignTotals]
) -> dict[UUID, Rates]:
    """Add the batch's counts to each campaign's window buckets, drop the buckets that left
    the window; each campaign's window after the batch."""
    ids = sorted(totals)
    pieces: list[tuple[UUID, Piece]] = []
    keep: list[int] = []
    for campaign_id in ids:
        total, delta = totals[campaign_id], tally.campaigns[campaign_id]
        pieces += [(campaign_id, p) for p in split(total.before, delta, total.bucket_size)]
        keep.append(first_kept(total.total.outcomes, total.bucket_size))
    if pieces:
        await conn.execute(
            ADD_BUCKETS,
            [c for c, _ in pieces],
            [p.bucket for _, p in pieces],
            [p.outcomes for _, p in pieces],
            [p.bounced_hard for _, p in pieces],
            [p.complained for _, p in pieces],
        )
    await conn.execute(DROP_BUCKETS, ids, keep)
    rows = await conn.fetch(WINDOWS, ids)
    return {
        row["campaign_id"]: Rates(row["outcomes"], row["bounced_hard"], row["complained"])
        for row in rows
    }


async def add_hours(conn: asyncpg.Connection, tally: Tally) -> None:
    """Add the batch's counts to its accounts' hours."""
    keys = sorted(tally.hours)
    if not keys:
        return
    counts = [tally.hours[k] for k in keys]
    await conn.execute(
        ADD_HOURS,
        [account for account, _ in keys],
        [hour for _, hour in keys],
        *_columns(counts, "outcomes", "bounced_hard", "complained"),
    )


async def accounts_since(
    conn: asyncpg.Connection, accounts: Iterable[UUID], since: datetime
) -> dict[UUID, Rates]:
    """Each account's counts of the hours from `since` (the hour `since` falls in included)."""
    start = since.replace(minute=0, second=0, microsecond=0)
    rows = await conn.fetch(ACCOUNT_SINCE, sorted(set(accounts)), start)
    return {
        row["account_id"]: Rates(row["outcomes"], row["bounced_hard"], row["complained"])
        for row in rows
    }


async def purge_hours(db: asyncpg.Pool | asyncpg.Connection, before: datetime) -> int:
    """Drop account hours older than `before`; how many."""
    done: str = await db.execute(PURGE_HOURS, before)
    return int(done.split()[-1])


def _columns(counts: list[Counts], *names: str) -> list[list[int]]:
    return [[getattr(c, name) for c in counts] for name in names]
