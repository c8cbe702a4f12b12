"""The completion rule: a campaign is `completed` only when every matched lead has an outcome.

Resolving must be done (`resolve_done`, so `matched` is final) and every matched
lead must be accounted: either excluded at resolve time (`excluded`, counted by the
lead resolver with its checkpoint) or with a terminal send outcome in the exact
per-batch accounting of `send_batch_outcomes`:

    matched = excluded + sent + failed + suppressed + cancelled

The sender (after each flush of its tallies) and the lead resolver (after it
sets `resolve_done`) both apply the rule, each as its own statement after its
own commit, so whichever commits last sees both facts and completes the campaign.

Only batch rows already `counted` take part (their outcome events acknowledged by
Kafka, the display counters updated): a completed campaign's counters are final. The
rule reads those counters, never the rows: the sender's counting flush adds exactly the
rows it marks counted to them in one statement (`services.sender.accounting`), so they
are the sums over the counted rows, and the check costs the same at the last batch of a
million-lead campaign as at the first (it summed every row of the campaign, every flush).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from shared.campaigns.changes import CHANNEL
from shared.campaigns.lifecycle import TRANSITIONS, Action, allowed_from
from shared.campaigns.moves import record_transition

COMPLETE = """
WITH completed AS (
UPDATE campaigns c SET state = $2, completed_at = now(), updated_at = now()
WHERE c.id = ANY($1::uuid[]) AND c.state = ANY($3::text[]) AND c.resolve_done
  AND c.matched = c.excluded + c.sent + c.failed + c.suppressed + c.cancelled
RETURNING c.id, c.account_id, c.state, c.run_id
), logged AS (
INSERT INTO campaign_changes (campaign_id, account_id, action, state, run_id)
SELECT id, account_id, $5, state, run_id FROM completed
)
SELECT id, pg_notify($4, id::text) FROM completed
"""


async def complete_if_accounted(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_ids: Sequence[UUID]
) -> list[UUID]:
    """Complete those of `campaign_ids` whose every matched lead has an outcome; their ids."""
    if not campaign_ids:
        return []
    target = TRANSITIONS[Action.COMPLETE][1]
    sources = [state.value for state in allowed_from(Action.COMPLETE)]
    rows = await conn.fetch(
        COMPLETE, list(campaign_ids), target.value, sources, CHANNEL, Action.COMPLETE.value
    )
    done: list[UUID] = [row["id"] for row in rows]
    for campaign_id in done:
        record_transition(campaign_id, Action.COMPLETE, target)
    return done
