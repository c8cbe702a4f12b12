"""Taking due deliveries from the queue, and writing down what their attempt got.

A claim moves the delivery's `next_attempt_at` one lease ahead in the same statement
(`FOR UPDATE SKIP LOCKED`: instances never take the same row), so a notifier that dies
mid-attempt leaves it due again once the lease ends: at least once, never lost. Only
deliveries of enabled endpoints are taken; a disabled endpoint's queue waits for it to
be enabled again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from services.notifier.sending import Claimed, Outcome

CLAIM = """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'enabled'
    ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d SET next_attempt_at = $3
FROM due, webhook_endpoints e
WHERE d.id = due.id AND e.id = d.endpoint_id
RETURNING d.id::text, d.endpoint_id::text, d.account_id::text, d.body, d.round_attempts,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
"""
LOG_ATTEMPT = """
INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error, succeeded)
VALUES ($1, $2, $3, $4, $5, $6)
"""
# next_attempt_at NULL (gave up) keeps the old value: the column is NOT NULL.
FINISH = """
UPDATE webhook_deliveries SET
    status = $2::text, attempts = attempts + 1, round_attempts = $3,
    last_attempt_at = $4::timestamptz, last_status_code = $5, last_error = $6,
    next_attempt_at = coalesce($7, next_attempt_at),
    completed_at = CASE WHEN $2::text = 'pending' THEN NULL ELSE $4::timestamptz END
WHERE id = $1
"""


async def claim_due(
    pool: asyncpg.Pool, now: datetime, limit: int, lease: timedelta
) -> list[Claimed]:
    """Up to `limit` due deliveries, leased to this instance until `now + lease`."""
    rows = await pool.fetch(CLAIM, now, limit, now + lease)
    return [Claimed(**dict(row)) for row in rows]


async def record_attempt(
    conn: asyncpg.Connection,
    claimed: Claimed,
    outcome: Outcome,
    now: datetime,
    next_at: datetime | None,
) -> str:
    """Log the attempt and move the delivery on; its new status."""
    if outcome.succeeded:
        status, rounds = "succeeded", claimed.round_attempts
    else:
        status, rounds = ("pending" if next_at else "failed"), claimed.round_attempts + 1
    await conn.execute(
        LOG_ATTEMPT,
        claimed.id,
        now,
        outcome.status_code,
        outcome.latency_ms,
        outcome.error,
        outcome.succeeded,
    )
    await conn.execute(
        FINISH, claimed.id, status, rounds, now, outcome.status_code, outcome.error, next_at
    )
    return status
