"""Parking a batch when the provider stops all sending (quota exhausted, account paused).

The recipients that got no answer are neither failed nor lost: in one
transaction the sender parks them in `send_batch_deferrals`, records the
batch's partial tally (the recipients the provider accepted before it
stopped), and pauses the campaign with the reason. On resume (or cancel) the
lead resolver re-emits every parked batch under fresh batch numbers and
deletes it, so each parked recipient gets exactly one outcome later.

A redelivered batch that was already parked finds its tally row and parks
nothing twice; a campaign cancelled meanwhile parks nothing (the caller turns
the undecided recipients into `cancelled` outcomes instead).
"""

from __future__ import annotations

from enum import StrEnum

import asyncpg
import orjson

from services.sender.outcomes import BatchTally
from shared.campaigns import MAX_REASON, TERMINAL, Action, State, move
from shared.contracts.sends import Recipient

INSERT_TALLY = """
INSERT INTO send_batch_outcomes (campaign_id, batch_no, sent, failed, suppressed, cancelled)
VALUES ($1, $2, $3, $4, $5, $6)
"""

ADD_COUNTERS = """
UPDATE campaigns SET sent = sent + $2, failed = failed + $3, suppressed = suppressed + $4,
    cancelled = cancelled + $5, updated_at = now()
WHERE id = $1
"""


class Parked(StrEnum):
    """What happened to a batch the provider stopped."""

    PARKED = "parked"  # recipients parked, campaign paused
    ALREADY = "already"  # a redelivery of a batch that already has its tally
    CLOSED = "closed"  # the campaign is cancelled/finished: nothing parked


async def park_batch(
    pool: asyncpg.Pool, tally: BatchTally, undecided: list[Recipient], reason: str
) -> Parked:
    """Park `undecided`, record `tally`, pause the campaign — all or nothing."""
    async with pool.acquire() as conn, conn.transaction():
        state = await conn.fetchval(
            "SELECT state FROM campaigns WHERE id = $1 FOR UPDATE", tally.campaign_id
        )
        if state is None or State(state) in TERMINAL:
            return Parked.CLOSED
        known = await conn.fetchval(
            "SELECT 1 FROM send_batch_outcomes WHERE campaign_id = $1 AND batch_no = $2",
            tally.campaign_id,
            tally.batch_no,
        )
        if known:
            return Parked.ALREADY
        recipients = orjson.dumps([r.model_dump(mode="json") for r in undecided]).decode()
        await conn.execute(
            "INSERT INTO send_batch_deferrals (campaign_id, batch_no, recipients, reason) "
            "VALUES ($1, $2, $3::jsonb, $4) ON CONFLICT DO NOTHING",
            tally.campaign_id,
            tally.batch_no,
            recipients,
            reason[:MAX_REASON],
        )
        counts = (tally.sent, tally.failed, tally.suppressed, tally.cancelled)
        await conn.execute(INSERT_TALLY, tally.campaign_id, tally.batch_no, *counts)
        await conn.execute(ADD_COUNTERS, tally.campaign_id, *counts)
        # a campaign paused already (through the API, or by an earlier batch) stays as it is
        await move(conn, tally.campaign_id, Action.PAUSE, reason=reason)
    return Parked.PARKED
