"""Migration 0015: the ledger's detail is written with lz4 from then on, what pglz wrote
before stays readable, and the downgrade goes back to the server's default."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from alembic import command

from services.sender import ledger
from services.sender.outcomes import Outcome
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.migrations.postgres import alembic_config, upgrade_async
from tests import factories

pytestmark = [pytest.mark.postgres]


def _batch(account: uuid.UUID, campaign: uuid.UUID, batch_no: int) -> FastSendBatch:
    recipients = [FastRecipient(uuid.uuid4(), f"r{batch_no}.{i}@example.com") for i in range(50)]
    return FastSendBatch(
        campaign_id=campaign,
        account_id=account,
        run_id=uuid.uuid4(),
        batch_no=batch_no,
        recipients=recipients,
    )


async def _record(pool: asyncpg.Pool, batch: FastSendBatch) -> tuple[str, list[Outcome]]:
    """Record the batch (every recipient sent); the method its detail was compressed with,
    and the outcomes the ledger reads back."""
    outcomes = [
        Outcome(r, EventType.SENT, provider_message_id=f"sim-{uuid.uuid4()}")
        for r in batch.recipients
    ]
    assert await ledger.record(pool, batch, outcomes, datetime.now(UTC))
    method = await pool.fetchval(
        "SELECT pg_column_compression(detail) FROM send_batch_outcomes "
        "WHERE campaign_id = $1 AND batch_no = $2",
        batch.campaign_id,
        batch.batch_no,
    )
    found = await ledger.find(pool, batch)
    assert found.recorded is not None and found.recorded.outcomes is not None
    assert [(o.recipient.lead_id, o.provider_message_id) for o in found.recorded.outcomes] == [
        (o.recipient.lead_id, o.provider_message_id) for o in outcomes
    ]
    return method, outcomes


async def test_detail_is_lz4_after_the_migration_and_older_details_still_read(
    empty_dsn: str,
) -> None:
    await upgrade_async(empty_dsn, "0014_ledger_detail_text")
    pool = await asyncpg.create_pool(empty_dsn, min_size=1, max_size=2)
    try:
        account = (await factories.account(pool)).id
        campaign = await factories.campaign(pool, account)
        before, _ = await _record(pool, _batch(account, campaign, 0))
        await upgrade_async(empty_dsn, "0015_ledger_detail_lz4")
        await pool.expire_connections()
        after, _ = await _record(pool, _batch(account, campaign, 1))
        assert (before, after) == ("pglz", "lz4")
        # what pglz wrote before reads back the same after the migration
        kept = await pool.fetchval(
            "SELECT pg_column_compression(detail) FROM send_batch_outcomes WHERE batch_no = 0"
        )
        assert kept == "pglz"
        found = await ledger.find(pool, _batch(account, campaign, 0))
        assert found.recorded is not None and found.recorded.outcomes is not None
        assert len(found.recorded.outcomes) == 50

        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0014")
        await pool.expire_connections()
        reverted, _ = await _record(pool, _batch(account, campaign, 2))
        assert reverted == "pglz"
    finally:
        await pool.close()
