"""The scheduler: moves due `scheduled` campaigns to `queued` and emits their launch.

Safe with several API instances: rows are claimed with FOR UPDATE SKIP LOCKED,
and each start is one transaction (state change plus outbox row).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import structlog

from services.campaign_api.campaigns.outbox import enqueue_command, make_command
from shared.campaigns import Action, State, move_locked
from shared.contracts import CommandKind
from shared.notifications import Wakeup

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    """The production wall clock."""
    return datetime.now(UTC)


DUE = """
SELECT id, account_id, run_id FROM campaigns
WHERE state = $3 AND scheduled_at <= $1
ORDER BY scheduled_at LIMIT $2 FOR UPDATE SKIP LOCKED
"""


async def start_due_campaigns(
    pool: asyncpg.Pool, topic: str, *, limit: int = 100, now: datetime | None = None
) -> int:
    """Start every campaign whose time (by `now`, default the clock) has come, up to
    `limit`; returns how many."""
    now = now or utc_now()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(DUE, now, limit, State.SCHEDULED.value)
        for row in rows:
            command = make_command(
                CommandKind.LAUNCH, row["id"], row["account_id"], row["run_id"], now
            )
            await enqueue_command(conn, topic, command)
            await move_locked(
                conn,
                row["id"],
                State.SCHEDULED,
                Action.START,
                run_id=row["run_id"],
                launched_at=now,
                now=now,
            )
    if rows:
        log.info("scheduler.started", campaigns=len(rows))
    return len(rows)


NEXT_DUE = "SELECT min(scheduled_at) FROM campaigns WHERE state = $1"
EARLY_TIMER_S = 0.01  # a timer may fire a hair before the time it was set for


def pause_until(next_due: datetime | None, now: datetime, longest: float) -> float:
    """Seconds to wait for the next look: until the next scheduled campaign is due (a
    hair after), never more than `longest`."""
    if next_due is None:
        return longest
    return min(longest, max(0.0, (next_due - now).total_seconds() + EARLY_TIMER_S))


async def run_scheduler(
    pool: asyncpg.Pool,
    topic: str,
    wakeup: Wakeup,
    stop: asyncio.Event,
    *,
    longest: float = 10.0,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Start due campaigns until `stop` is set: each look sleeps until the next schedule is
    due, or a campaign moved (scheduled, rescheduled, cancelled: `wakeup` follows the
    campaign state channel), at most `longest` seconds; no look every second."""
    async with wakeup.running(stop):
        while not stop.is_set():
            try:
                await start_due_campaigns(pool, topic, now=clock())
                next_due = await pool.fetchval(NEXT_DUE, State.SCHEDULED.value)
                pause = pause_until(next_due, clock(), longest)
            except (
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                asyncpg.InternalClientError,  # a pooled connection met by a Postgres fast shutdown
                OSError,
                TimeoutError,
            ) as exc:
                log.warning("scheduler.failed", error=repr(exc))
                pause = min(longest, 1.0)
            await wakeup.wait(stop, pause)
