"""Progress accounting: per-batch outcome counts flushed to Postgres in bulk, about once a second.

A batch's tally is recorded only after its outcome events were acknowledged
by Kafka, and offsets are committed only after the tallies below them were
flushed: accounting is never ahead of the events, and never behind the
committed offsets. The flush is one statement: an upsert of one row per batch
into `send_batch_outcomes` (ON CONFLICT DO NOTHING, so a redelivered batch
counts once) whose RETURNING rows alone are added to the campaigns' display
counters. Then the campaigns whose every matched lead has an outcome complete
(`shared.campaigns.complete_if_accounted`).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.sender.outcomes import BatchTally
from shared.campaigns import complete_if_accounted

UPSERT = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[])
        AS b(campaign_id, batch_no, sent, failed, suppressed, cancelled)
), inserted AS (
    INSERT INTO send_batch_outcomes (campaign_id, batch_no, sent, failed, suppressed, cancelled)
    SELECT b.* FROM batch b WHERE EXISTS (SELECT 1 FROM campaigns c WHERE c.id = b.campaign_id)
    ON CONFLICT (campaign_id, batch_no) DO NOTHING
    RETURNING campaign_id, sent, failed, suppressed, cancelled
), totals AS (
    SELECT campaign_id, sum(sent) AS sent, sum(failed) AS failed,
           sum(suppressed) AS suppressed, sum(cancelled) AS cancelled
    FROM inserted GROUP BY campaign_id
)
UPDATE campaigns c SET sent = c.sent + t.sent, failed = c.failed + t.failed,
    suppressed = c.suppressed + t.suppressed, cancelled = c.cancelled + t.cancelled,
    updated_at = now()
FROM totals t WHERE c.id = t.campaign_id
"""


class Accounting:
    """Batch tallies waiting for the next flush."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: dict[tuple[UUID, int], BatchTally] = {}

    @property
    def pending(self) -> int:
        """Tallies not yet flushed."""
        return len(self._pending)

    def record(self, tally: BatchTally) -> None:
        """Queue a batch's tally (its outcome events are already acknowledged)."""
        self._pending.setdefault((tally.campaign_id, tally.batch_no), tally)

    async def flush(self) -> None:
        """Write every queued tally in one statement, then complete finished campaigns.

        On failure the tallies stay queued and the error propagates (offsets stay uncommitted).
        """
        if not self._pending:
            return
        tallies = list(self._pending.values())
        await self._pool.execute(
            UPSERT,
            [t.campaign_id for t in tallies],
            [t.batch_no for t in tallies],
            [t.sent for t in tallies],
            [t.failed for t in tallies],
            [t.suppressed for t in tallies],
            [t.cancelled for t in tallies],
        )
        for t in tallies:
            self._pending.pop((t.campaign_id, t.batch_no), None)
        await complete_if_accounted(self._pool, sorted({t.campaign_id for t in tallies}))
