"""An endpoint's delivery log, and replays that put deliveries back in the queue.

A replay makes a delivery `pending` again with a fresh retry schedule and due now; it
keeps its id, so the receiver gets the same `webhook-id` (and the same body) and can
recognise what it already handled. Its earlier attempts stay in the log.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

import asyncpg

from shared.outbound.queue import announce_deliveries

DELIVERY_COLUMNS = (
    "d.id, d.event_type, d.events, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, "
    "d.last_status_code, d.last_error, d.created_at, d.completed_at"
)
ATTEMPTS_SHOWN = 20  # the latest attempts listed with each delivery
REQUEUE = (
    "UPDATE webhook_deliveries SET status = 'pending', round_attempts = 0, "
    "next_attempt_at = $2, completed_at = NULL "
)
REPLAY = REQUEUE + "WHERE id = ANY($1::uuid[])"
REPLAY_ONE = REQUEUE + "WHERE id = $1 AND endpoint_id = $3"


async def list_deliveries(
    pool: asyncpg.Pool,
    endpoint: UUID,
    *,
    status: str | None,
    before: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` deliveries of the endpoint, newest first, older than `before`."""
    when, last = before if before is not None else (None, None)
    rows: list[asyncpg.Record] = await pool.fetch(
        f"""
        SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d
        WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.status = $2)
          AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4::uuid))
        ORDER BY d.created_at DESC, d.id DESC LIMIT $5
        """,
        endpoint,
        status,
        when,
        last,
        limit,
    )
    return rows


async def attempts_of(
    pool: asyncpg.Pool, delivery_ids: list[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """The latest attempts of each delivery, oldest first."""
    rows = await pool.fetch(
        """
        SELECT delivery_id, attempted_at, status_code, latency_ms, error, succeeded FROM (
            SELECT a.*, row_number() OVER (PARTITION BY delivery_id ORDER BY id DESC) AS n
            FROM webhook_attempts a WHERE delivery_id = ANY($1::uuid[])
        ) latest WHERE n <= $2 ORDER BY delivery_id, attempted_at
        """,
        delivery_ids,
        ATTEMPTS_SHOWN,
    )
    found: dict[UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        found[row["delivery_id"]].append(row)
    return found


async def replay_delivery(
    pool: asyncpg.Pool, endpoint: UUID, delivery: UUID, now: datetime
) -> bool:
    """Queue one delivery of the endpoint again; False if it has no such delivery."""
    done = await pool.execute(REPLAY_ONE, delivery, now, endpoint)
    if done == "UPDATE 0":
        return False
    await announce_deliveries(pool)
    return True


async def replay_range(
    pool: asyncpg.Pool,
    endpoint: UUID,
    *,
    since: datetime,
    until: datetime | None,
    only_failed: bool,
    now: datetime,
    limit: int,
) -> tuple[int, datetime | None]:
    """Queue again the deliveries created in [since, until), oldest first, at most `limit`.

    Returns how many, and the creation time to continue from when `limit` cut the range.
    """
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """
            SELECT id, created_at FROM webhook_deliveries
            WHERE endpoint_id = $1 AND created_at >= $2
              AND ($3::timestamptz IS NULL OR created_at < $3)
              AND (NOT $4 OR status = 'failed')
            ORDER BY created_at, id LIMIT $5 FOR UPDATE
            """,
            endpoint,
            since,
            until,
            only_failed,
            limit + 1,
        )
        chosen = rows[:limit]
        await conn.execute(REPLAY, [r["id"] for r in chosen], now)
        await announce_deliveries(conn)
    more = rows[limit]["created_at"] if len(rows) > limit else None
    return len(chosen), more
