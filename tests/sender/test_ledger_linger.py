"""The ledger's steps linger for company: batches that come one at a time, as at an ESP
quota, share one statement per step instead of one each (`services.sender.coalesce`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.sender.ledger import Ledger
from services.sender.outcomes import Outcome
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from tests import factories

pytestmark = [pytest.mark.postgres]


async def _lives(book: Ledger, batches: list[FastSendBatch], apart_s: float) -> list[bool]:
    """Each batch's find, mark and record, the batches starting `apart_s` apart."""
    at = datetime.now(UTC)

    async def life(i: int, batch: FastSendBatch) -> bool:
        await asyncio.sleep(i * apart_s)
        found = await book.find(batch)
        assert found.recorded is None and not found.in_flight
        await book.mark_in_flight(batch, [r.lead_id for r in batch.recipients])
        outcomes = [Outcome(r, EventType.SENT, f"<{r.lead_id}@fanout>") for r in batch.recipients]
        return await book.record(batch, outcomes, at)

    return await asyncio.gather(*(life(i, b) for i, b in enumerate(batches)))


async def test_ledger_batches_coming_apart_share_each_step_within_the_linger(
    pool: asyncpg.Pool,
) -> None:
    acc = await factories.account(pool)
    campaign = await factories.campaign(pool, acc.id)
    run = uuid.uuid4()
    batches = [
        FastSendBatch(
            campaign_id=campaign,
            account_id=acc.id,
            run_id=run,
            batch_no=n,
            recipients=[FastRecipient(uuid.uuid4(), f"l{n}.{i}@example.com") for i in range(3)],
        )
        for n in range(4)
    ]
    book = Ledger(pool, linger_s=0.5)
    assert await _lives(book, batches, apart_s=0.02) == [True] * 4
    assert book.statements == 3  # find, mark and record: one statement each for all four
    rows = await pool.fetchval(
        "SELECT count(*) FROM send_batch_outcomes WHERE campaign_id = $1", campaign
    )
    assert rows == 4
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM send_batch_attempts WHERE campaign_id = $1", campaign
        )
        == 0
    )  # each record dropped its in-flight row
