"""The guard's hold on a campaign: a pause with the reason, which only an explicit override lifts.

The guard (services/guard) pauses a campaign whose bounces or complaints cross its
account's thresholds, or every campaign of an account whose account-wide rates cross the
account's line, through `guard_pause`: the same `pause` move of the lifecycle table,
applied only from the states it starts from, announced and logged like every move, which
also records the reason in `guard_reason` (shown by the API and the CLI) and when.

A campaign held by the guard resumes only when the resume says it overrides the guard
(`POST /campaigns/{id}/resume?override_guard=true`); `release_guard_hold` then clears the
hold and stamps `guard_override_at`, after which the guard leaves that campaign alone: its
owner decided to send it anyway (docs/deliverability.md). A campaign resumed with an
override is never paused by the guard again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import asyncpg

from shared.campaigns.changes import CHANNEL
from shared.campaigns.lifecycle import TRANSITIONS, Action, allowed_from
from shared.campaigns.moves import MAX_REASON, record_transition

GUARD_PAUSE = """
WITH held AS (
    SELECT id, reason FROM unnest($1::uuid[], $2::text[]) AS h(id, reason)
), moved AS (
    UPDATE campaigns c SET state = $3, updated_at = now(), state_reason = h.reason,
        guard_reason = h.reason, guard_paused_at = now()
    FROM held h
    WHERE c.id = h.id AND c.state = ANY($4::text[]) AND c.guard_override_at IS NULL
    RETURNING c.id, c.account_id, c.state, c.run_id, h.reason
), logged AS (
    INSERT INTO campaign_changes (campaign_id, account_id, action, state, reason, run_id)
    SELECT id, account_id, $5, state, reason, run_id FROM moved
)
SELECT m.id, m.reason, pg_notify($6, m.id::text) FROM moved m
"""
RELEASE = """
UPDATE campaigns SET guard_reason = NULL, guard_override_at = $2
WHERE id = $1 AND guard_reason IS NOT NULL
"""


async def guard_pause(
    conn: asyncpg.Connection | asyncpg.Pool, reasons: Mapping[UUID, str]
) -> list[UUID]:
    """Pause each campaign of `reasons` with its reason, unless it cannot be paused now (it
    finished, or is paused already) or its owner overrode the guard; the ids paused."""
    if not reasons:
        return []
    ids = sorted(reasons)  # one lock order for every writer
    texts = [reasons[i][:MAX_REASON] for i in ids]
    target = TRANSITIONS[Action.PAUSE][1]
    sources = [state.value for state in allowed_from(Action.PAUSE)]
    rows = await conn.fetch(
        GUARD_PAUSE, ids, texts, target.value, sources, Action.PAUSE.value, CHANNEL
    )
    for row in rows:
        record_transition(row["id"], Action.PAUSE, target, reason=row["reason"])
    return [row["id"] for row in rows]


async def release_guard_hold(conn: asyncpg.Connection, campaign_id: UUID, now: datetime) -> bool:
    """The owner resumes over the guard: lift its hold; True if there was one. Call in the
    transaction that resumes the campaign (its row locked)."""
    done: str = await conn.execute(RELEASE, campaign_id, now)
    return done.endswith(" 1")
