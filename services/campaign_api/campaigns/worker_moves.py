"""The lifecycle moves workers make (lead_resolver, sender), checked against the same table.

    new_state = await worker_move(conn, campaign_id, Action.RESOLVE, run_id=run_id)
    if new_state is None: ...   # paused, cancelled or superseded meanwhile: stop this run

One conditional UPDATE: it applies only if the campaign is in a state the action
starts from and (when `run_id` is given) still on that run, so a worker acting
on a stale run or racing a pause through the API changes nothing.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.campaign_api.campaigns.lifecycle import TERMINAL, Action, State, allowed_from
from services.campaign_api.campaigns.lifecycle import TRANSITIONS as _TABLE
from shared import metrics

WORKER_ACTIONS = frozenset({Action.RESOLVE, Action.SEND, Action.COMPLETE, Action.FAIL})
MOVE = """
UPDATE campaigns SET state = $2, updated_at = now(),
    state_reason = COALESCE($5, state_reason),
    completed_at = CASE WHEN $6 THEN now() ELSE completed_at END
WHERE id = $1 AND state = ANY($3::text[]) AND ($4::uuid IS NULL OR run_id = $4)
RETURNING state
"""


async def worker_move(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: UUID,
    action: Action,
    *,
    run_id: UUID | None = None,
    reason: str | None = None,
) -> State | None:
    """Apply a worker action if it is legal now; the new state, or None if it was not."""
    if action not in WORKER_ACTIONS:
        raise ValueError(f"{action.value} is not a worker action")
    target = _TABLE[action][1]
    state = await conn.fetchval(
        MOVE,
        campaign_id,
        target.value,
        [s.value for s in allowed_from(action)],
        run_id,
        reason,
        target in TERMINAL,
    )
    if state is None:
        return None
    metrics.CAMPAIGN_TRANSITIONS.labels(action.value).inc()
    return State(state)
