"""Stalled campaigns: running, yet their progress has not moved for a while.

Every progress write (the resolver's batches, the sender's counters, a state move)
bumps `campaigns.updated_at`. A campaign queued, resolving or sending whose
`updated_at` is older than the threshold is making no progress: no consumer in a
group, lag growing, or its provider stopped. Counting them once in a while (one
query on the active-campaigns index) and exporting the count as a label-free gauge
lets an alert see what every API answer alone did not (a campaign "sending" with 0
sent for minutes). Each campaign_api instance exports the same count: alert on max.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from shared import metrics
from shared.campaigns import State

log = structlog.get_logger(__name__)

RUNNING = (State.QUEUED, State.RESOLVING, State.SENDING)
STALLED = """
SELECT count(*) FROM campaigns WHERE state = ANY($1::text[]) AND updated_at < $2
"""


async def count_stalled(pool: asyncpg.Pool, after: timedelta, now: datetime) -> int:
    """Running campaigns whose progress is older than `after` at `now`."""
    count: int = await pool.fetchval(STALLED, [s.value for s in RUNNING], now - after)
    return count


async def watch_stalls(
    pool: asyncpg.Pool, stop: asyncio.Event, *, after_s: float, interval_s: float
) -> None:
    """Export the stalled campaigns' count every `interval_s` until `stop` is set."""
    while not stop.is_set():
        try:
            stalled = await count_stalled(pool, timedelta(seconds=after_s), datetime.now(UTC))
            metrics.CAMPAIGNS_STALLED.set(stalled)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("stalls.count_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
