"""Counting recorded batches into the campaign counters, about once a second, exactly once.

A batch's outcome row is written before its events are published
(`services.sender.ledger`), with `counted = false`. Once its events were
acknowledged by Kafka the batch is queued here; the flush, which runs before
offsets are committed (the consumer's `before_commit`), is one statement: it
flips `counted` on the queued rows that are not counted yet, drops their
per-recipient detail (no replay needs it once the events are out), and adds the
counts of exactly the rows it flipped to the campaigns' counters (and the number of
rows to `batches_counted`, the lead resolver's window), so a batch counts once however
often it is redelivered or by however many instances: the counters always equal the
sums over the campaign's counted rows, which is what completion reads.
Then the campaigns whose every matched lead has a counted outcome complete
(`shared.campaigns.complete_if_accounted`). Offsets are committed only after the
flush: the counters are never behind the committed offsets.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.campaigns import complete_if_accounted
from shared.campaigns.changes import PROGRESS_CHANNEL
from shared.contracts.fast_sends import FastSendBatch

COUNT = """
WITH batch AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS b(campaign_id, batch_no)
), counted AS (
    UPDATE send_batch_outcomes o SET counted = true, detail = NULL
    FROM batch b
    WHERE o.campaign_id = b.campaign_id AND o.batch_no = b.batch_no AND NOT o.counted
    RETURNING o.campaign_id, o.sent, o.failed, o.suppressed, o.cancelled
), totals AS (
    SELECT campaign_id, sum(sent) AS sent, sum(failed) AS failed,
           sum(suppressed) AS suppressed, sum(cancelled) AS cancelled, count(*) AS batches
    FROM counted GROUP BY campaign_id
)
UPDATE campaigns c SET sent = c.sent + t.sent, failed = c.failed + t.failed,
    suppressed = c.suppressed + t.suppressed, cancelled = c.cancelled + t.cancelled,
    batches_counted = c.batches_counted + t.batches, updated_at = now()
FROM totals t WHERE c.id = t.campaign_id
RETURNING pg_notify($3, c.id::text)
"""


class Accounting:
    """Recorded batches whose events are out, waiting for the next flush."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: set[tuple[UUID, int]] = set()

    @property
    def pending(self) -> int:
        """Batches not yet counted by this instance."""
        return len(self._pending)

    def record(self, batch: FastSendBatch) -> None:
        """Queue a recorded batch whose outcome events Kafka acknowledged."""
        self._pending.add((batch.campaign_id, batch.batch_no))

    async def flush(self) -> None:
        """Count every queued batch in one statement, then complete finished campaigns.

        On failure the batches stay queued and the error propagates (offsets stay uncommitted).
        """
        if not self._pending:
            return
        keys = sorted(self._pending)
        await self._pool.execute(
            COUNT, [k[0] for k in keys], [k[1] for k in keys], PROGRESS_CHANNEL
        )
        self._pending.difference_update(keys)
        await complete_if_accounted(self._pool, sorted({k[0] for k in keys}))
