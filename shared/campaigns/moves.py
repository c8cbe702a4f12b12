"""The one writer of `campaigns.state`: every service moves a campaign through here.

Two flavours, because callers hold the campaign row in two different ways:

- `move_locked` is for API actions (launch, schedule, pause, resume, reschedule,
  cancel) and the API's scheduler (`start`). The caller has locked the row FOR UPDATE inside its own
  transaction, since that transaction also plans the move from the row (a launch
  with a date becomes a schedule) and writes the outbox command beside it. The
  current state is therefore known and cannot change under the caller: an illegal
  move raises `IllegalTransition`, which the API answers with 409.
- `move` is for worker actions (lead_resolver, sender). A worker decides from a view
  of the campaign that may be stale when it writes, and cannot hold a row lock across
  Kafka sends or ESP calls. So the move is one conditional UPDATE that applies only
  from the states the action starts from and, when given, on the same `run_id`: a
  pause or cancel made through the API meanwhile is never overwritten. It returns
  the new state, or None when the campaign moved meanwhile (the worker stops).

Every applied move is counted in `fanout_campaign_transitions_total` by action and
logged as `campaign.transition` with the campaign id, action, new state and reason,
announced on the `campaign state` channel in the move's own transaction, and appended
to the durable change log `campaign_changes` in the move's own statement
(`shared.campaigns.changes`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from shared import metrics
from shared.campaigns.changes import CHANNEL, announce
from shared.campaigns.lifecycle import (
    TRANSITIONS,
    WORKER_ACTIONS,
    Action,
    IllegalTransition,
    State,
    allowed_from,
    next_state,
)

log = structlog.get_logger(__name__)

MAX_REASON = 1000  # characters of `state_reason` kept (provider messages can be long)

# Each statement also appends the move to `campaign_changes` (the durable change log,
# `shared.campaigns.changes`), so the log row commits exactly when the move does.
LOCKED_MOVE = """
WITH moved AS (
    UPDATE campaigns SET state = $3, run_id = $4, launched_at = $5, updated_at = $6
    WHERE id = $1 AND state = $2
    RETURNING *
), logged AS (
    INSERT INTO campaign_changes (campaign_id, account_id, action, state, run_id, occurred_at)
    SELECT id, account_id, $7, state, run_id, $6 FROM moved
)
SELECT * FROM moved
"""

# One statement, so the announcement commits with the move whatever transaction holds it.
CONDITIONAL_MOVE = """
WITH moved AS (
    UPDATE campaigns SET state = $2, updated_at = now(), state_reason = COALESCE($5, state_reason)
    WHERE id = $1 AND state = ANY($3::text[]) AND ($4::uuid IS NULL OR run_id = $4)
    RETURNING id, account_id, state, run_id
), logged AS (
    INSERT INTO campaign_changes (campaign_id, account_id, action, state, reason, run_id)
    SELECT id, account_id, $7, state, $5, run_id FROM moved
)
SELECT m.state, pg_notify($6, m.id::text) FROM moved m
"""


def record_transition(
    campaign_id: UUID,
    action: Action,
    state: State,
    *,
    reason: str | None = None,
    run_id: UUID | None = None,
) -> None:
    """Count and log one applied move (called by this package's writers only)."""
    metrics.CAMPAIGN_TRANSITIONS.labels(action.value).inc()
    log.info(
        "campaign.transition",
        campaign_id=str(campaign_id),
        action=action.value,
        state=state.value,
        reason=reason,
        run_id=str(run_id) if run_id else None,
    )


async def move_locked(
    conn: asyncpg.Connection,
    campaign_id: UUID,
    current: State,
    action: Action,
    *,
    run_id: UUID | None,
    launched_at: datetime | None,
    now: datetime,
) -> asyncpg.Record:
    """Apply an API action to a row the caller holds FOR UPDATE; the updated row.

    `run_id` and `launched_at` are the campaign's values after the move (a new run on
    launch, schedule, resume and reschedule). Raises `IllegalTransition` when `action` is not
    allowed from `current`, or when the row is no longer in `current` (it was not
    locked, or is gone): nothing is written then.
    """
    target = next_state(current, action)
    row = await conn.fetchrow(
        LOCKED_MOVE,
        campaign_id,
        current.value,
        target.value,
        run_id,
        launched_at,
        now,
        action.value,
    )
    if row is None:
        raise IllegalTransition(current, action)
    await announce(conn, campaign_id)
    record_transition(campaign_id, action, target, run_id=run_id)
    return row


async def move(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: UUID,
    action: Action,
    *,
    run_id: UUID | None = None,
    reason: str | None = None,
) -> State | None:
    """Apply a worker action if it is legal now; the new state, or None if it was not.

    Only the actions in `WORKER_ACTIONS`: a move that starts a run belongs to the API,
    and completing belongs to `complete_if_accounted`. `reason` (kept in
    `state_reason`, truncated) says why, for `fail` and `pause`.
    """
    if action not in WORKER_ACTIONS:
        raise ValueError(f"{action.value} is not a worker action")
    target = TRANSITIONS[action][1]
    reason = reason[:MAX_REASON] if reason is not None else None
    sources = [state.value for state in allowed_from(action)]
    moved = await conn.fetchval(
        CONDITIONAL_MOVE, campaign_id, target.value, sources, run_id, reason, CHANNEL, action.value
    )
    if moved is None:
        return None
    record_transition(campaign_id, action, target, reason=reason, run_id=run_id)
    return target
