"""Outbox housekeeping: published rows are purged after the retention, pending ones never.

The purge runs when the relay starts and hourly after; on a clock pinned near zero (a
machine booted a moment ago) it must still run at once. Outbox rows are written with SQL
here on purpose: their ages are backdated, which no API can do.
"""

from __future__ import annotations

import asyncpg
import pytest

from services.campaign_api.campaigns.relay import PURGE_EVERY_S, OutboxRelay, RelayPacing
from shared.settings import CommonSettings
from tests.clock import BootClock

pytestmark = pytest.mark.postgres


async def _outbox_row(pool: asyncpg.Pool, age_days: int, published_days: int | None) -> int:
    row_id: int = await pool.fetchval(
        "INSERT INTO outbox (topic, payload, created_at, published_at) "
        "VALUES ('purge.test', 'x', now() - make_interval(days => $1), "
        "now() - make_interval(days => $2)) RETURNING id",
        age_days,
        published_days,
    )
    return row_id


async def _left(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch("SELECT id FROM outbox WHERE topic = 'purge.test' ORDER BY id")
    return [r["id"] for r in rows]


async def test_purge_outbox_keeps_pending_and_recent(
    base_settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    old, recent = await _outbox_row(pool, 9, 8), await _outbox_row(pool, 9, 1)
    pending = await _outbox_row(pool, 30, None)
    await OutboxRelay(pool, base_settings, RelayPacing(keep_days=7))._purge()
    assert await _left(pool) == [recent, pending]
    assert old not in await _left(pool)
    await pool.execute("DELETE FROM outbox WHERE topic = 'purge.test'")


async def test_purge_outbox_runs_at_start_and_hourly_on_fresh_boot(
    base_settings: CommonSettings, pool: asyncpg.Pool
) -> None:
    clock = BootClock(0.5)
    relay = OutboxRelay(pool, base_settings, RelayPacing(keep_days=7), clock=clock)
    first = await _outbox_row(pool, 9, 8)
    await relay._purge()
    assert first not in await _left(pool)
    second = await _outbox_row(pool, 9, 8)
    clock.advance(PURGE_EVERY_S - 1)
    await relay._purge()
    assert second in await _left(pool)  # not yet an hour since the last purge
    clock.advance(1)
    await relay._purge()
    assert second not in await _left(pool)
