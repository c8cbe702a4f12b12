"""Soft-bounce runs: counted once per event id, in whatever order events arrive.

An address's run is the number of its soft bounces that occurred after its
latest delivery; at the threshold the address is suppressed. Each counted bounce
is a `soft_bounce_events` row keyed by its event id, so a provider's retry, a
replay or a late arrival adds nothing twice; `soft_bounces.consecutive` is
recounted from those rows. A delivery moves `last_delivered_at` forward (never
back), which ends the run; rows at or before it are dropped, since they can
never count again. Deliveries only touch addresses that already have a run
(no row per delivered email; which ones may have one, `known_runs.py` says without a
look-up per address), so a bounce older than a delivery reported before
any bounce of that address still counts: the one order this does not see.

The first statement locks every address's row, in key order, before anything is
counted: a concurrent request for the same address waits, then counts what this
one committed (each later statement reads a fresh snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from services.webhook_ingest.known_runs import KnownRuns

Address = tuple[UUID, str]

# Whether a delivered address has a run is one index probe per address (only for those
# `known_runs.py` may hold, when the service keeps that filter): the LIMIT keeps the
# look-up a nested loop (an `OR EXISTS` here let the planner hash every row of
# `soft_bounces` on each request), and the service's sessions prefer indexes to
# sequential scans (`shared.db.INDEX_PROBES`) whatever size the table had when planned.
LOCK_RUNS = """
INSERT INTO soft_bounces AS sb (account_id, email, last_delivered_at)
SELECT u.account_id, u.email, u.delivered_at
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bool[])
     AS u(account_id, email, delivered_at, bounced)
LEFT JOIN LATERAL (
    SELECT true AS found FROM soft_bounces x
    WHERE x.account_id = u.account_id AND x.email = u.email LIMIT 1
) run ON true
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = u.account_id)
  AND (u.bounced OR run.found)
ON CONFLICT (account_id, email) DO UPDATE
SET last_delivered_at = GREATEST(sb.last_delivered_at, EXCLUDED.last_delivered_at),
    updated_at = now()
RETURNING account_id, email
"""
# A bounce at or before the latest delivery never counts: it is not written (rather than
# written, then dropped by DROP_ENDED), so DROP_ENDED runs only where a delivery moved.
COUNT_BOUNCES = """
INSERT INTO soft_bounce_events (account_id, email, event_id, occurred_at)
SELECT u.account_id, u.email, u.event_id, u.occurred_at
FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[])
     AS u(account_id, email, event_id, occurred_at)
JOIN soft_bounces sb ON sb.account_id = u.account_id AND sb.email = u.email
WHERE u.occurred_at > coalesce(sb.last_delivered_at, '-infinity')
ON CONFLICT DO NOTHING
"""
DROP_ENDED = """
DELETE FROM soft_bounce_events e
USING soft_bounces sb, unnest($1::uuid[], $2::text[]) AS u(account_id, email)
WHERE sb.account_id = u.account_id AND sb.email = u.email
  AND e.account_id = sb.account_id AND e.email = sb.email
  AND e.occurred_at <= sb.last_delivered_at
"""
# Recount the runs, and suppress the addresses bounced in this request ($3: their source;
# NULL for an address only delivered) whose run reached the threshold, in one statement.
RECOUNT_AND_SUPPRESS = """
WITH counted AS (
    UPDATE soft_bounces sb
    SET consecutive = (
        SELECT count(*) FROM soft_bounce_events e
        WHERE e.account_id = sb.account_id AND e.email = sb.email
          AND e.occurred_at > coalesce(sb.last_delivered_at, '-infinity')
    )
    FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(account_id, email, source)
    WHERE sb.account_id = u.account_id AND sb.email = u.email
    RETURNING sb.account_id, sb.email, sb.consecutive, u.source
)
INSERT INTO suppressions (account_id, email, reason, source)
SELECT account_id, email, 'soft_bounce', source FROM counted
WHERE source IS NOT NULL AND consecutive >= $4
ORDER BY account_id, email
ON CONFLICT (account_id, email) DO NOTHING
"""


@dataclass
class Run:
    """One address's soft bounces and latest delivery in this request."""

    source: str
    bounces: dict[UUID, datetime] = field(default_factory=dict)
    delivered_at: datetime | None = None

    def bounce(self, event_id: UUID, at: datetime) -> None:
        self.bounces[event_id] = at

    def delivered(self, at: datetime) -> None:
        self.delivered_at = at if self.delivered_at is None else max(self.delivered_at, at)


async def runs_to_apply(
    conn: asyncpg.Connection, runs: dict[Address, Run], known: KnownRuns | None
) -> dict[Address, Run]:
    """`runs` less the deliveries of addresses `known` says have no run (all of them
    without `known`). Only a read (the filter's catch-up), so it may run before the
    request's transaction: at read committed a statement sees what was committed when it
    started, inside a transaction or not."""
    if known is None or all(run.bounces for run in runs.values()):
        return runs
    await known.catch_up(conn)
    return {a: run for a, run in runs.items() if run.bounces or known.may_have(a)}


async def apply_runs(
    conn: asyncpg.Connection,
    runs: dict[Address, Run],
    threshold: int,
    known: KnownRuns | None = None,
) -> None:
    """Count the runs' bounces and deliveries, suppressing long runs (in the caller's
    transaction). With `known`, a delivered address it says has no run is not looked up."""
    runs = await runs_to_apply(conn, runs, known)
    if not runs:
        return
    ordered = sorted(runs.items(), key=lambda item: item[0])
    locked = await conn.fetch(
        LOCK_RUNS,
        [a[0] for a, _ in ordered],
        [a[1] for a, _ in ordered],
        [r.delivered_at for _, r in ordered],
        [bool(r.bounces) for _, r in ordered],
    )
    # Only addresses with a run go further: a delivery of one that never soft-bounced
    # (almost every delivery) changes nothing, and is not looked up three more times.
    with_runs = {(row["account_id"], row["email"]) for row in locked}
    ordered = [(a, r) for a, r in ordered if a in with_runs]
    if not ordered:
        return
    accounts = [a[0] for a, _ in ordered]
    emails = [a[1] for a, _ in ordered]
    bounces = [(a, event, at) for a, r in ordered for event, at in sorted(r.bounces.items())]
    if bounces:
        await conn.execute(
            COUNT_BOUNCES,
            [a[0] for a, _, _ in bounces],
            [a[1] for a, _, _ in bounces],
            [event for _, event, _ in bounces],
            [at for _, _, at in bounces],
        )
    ended = [(a, r) for a, r in ordered if r.delivered_at is not None]
    if ended:  # a delivery moved: the bounces at or before it no longer count
        await conn.execute(DROP_ENDED, [a[0] for a, _ in ended], [a[1] for a, _ in ended])
    await conn.execute(
        RECOUNT_AND_SUPPRESS,
        accounts,
        emails,
        [r.source if r.bounces else None for _, r in ordered],
        threshold,
    )
