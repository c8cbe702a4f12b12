"""The scheduler: moves due `scheduled` campaigns to `queued` and emits their launch.

Safe with several API instances: rows are claimed with FOR UPDATE SKIP LOCKED,
and each start is one transaction (state change plus outbox row).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import asyncpg
import structlog

from services.campaign_api.campaigns.outbox import enqueue_command, make_command
from shared.campaigns import Action, State, move_locked
from shared.contracts import CommandKind

log = structlog.get_logger(__name__)

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
    now = now or datetime.now(UTC)
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


async def run_scheduler(
    pool: asyncpg.Pool, topic: str, stop: asyncio.Event, *, interval: float = 1.0
) -> None:
    """Start due campaigns every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            await start_due_campaigns(pool, topic)
        except (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,  # a pooled connection met by a Postgres fast shutdown
            OSError,
            TimeoutError,
        ) as exc:
            log.warning("scheduler.failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
