"""Outbox housekeeping: published rows are purged after the retention, pending ones never."""

from __future__ import annotations

import asyncpg
import pytest

from services.campaign_api.campaigns.relay import OutboxRelay
from shared.settings import CommonSettings

pytestmark = pytest.mark.postgres


async def test_purge_outbox_keeps_pending_and_recent(
    base_settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    ids = [
        await pool.fetchval(
            "INSERT INTO outbox (topic, payload, created_at, published_at) "
            "VALUES ('purge.test', 'x', now() - make_interval(days => $1), "
            "now() - make_interval(days => $2)) RETURNING id",
            age,
            published,
        )
        for age, published in ((9, 8), (9, 1))
    ]
    pending = await pool.fetchval(
        "INSERT INTO outbox (topic, payload, created_at) "
        "VALUES ('purge.test', 'x', now() - interval '30 days') RETURNING id"
    )
    await OutboxRelay(pool, base_settings, keep_days=7)._purge()
    left = await pool.fetch("SELECT id FROM outbox WHERE topic = 'purge.test' ORDER BY id")
    assert [r["id"] for r in left] == [ids[1], pending]
    await pool.execute("UPDATE outbox SET published_at = now() WHERE id = $1", pending)
