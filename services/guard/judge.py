"""One batch of counted events: add them up, judge the campaigns and accounts they touch, pause.

    thresholds of the batch's accounts → campaign totals (+ window buckets) → account hours
      → campaign verdicts (cumulative line, then the window) → account verdicts (24 h)
      → pause through `shared.campaigns.guard_pause`, each with its reason

All of it runs in the caller's transaction, with the offsets of the records it counts
(`shared.kafka.applied`): the counts, the pauses and the offsets commit together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import structlog

from services.guard import counts
from services.guard.rules import Rates, Verdict, account_verdict, campaign_verdict
from services.guard.tally import Tally
from services.guard.window import bucket_size
from shared import metrics
from shared.campaigns import allowed_from, guard_pause
from shared.campaigns.lifecycle import Action
from shared.reputation import load_thresholds

log = structlog.get_logger(__name__)

WallClock = Callable[[], datetime]
DAY = timedelta(hours=24)
PAUSABLE = [state.value for state in allowed_from(Action.PAUSE)]
ACCOUNT_CAMPAIGNS = """
SELECT id FROM campaigns
WHERE account_id = $1 AND state = ANY($2::text[]) AND guard_override_at IS NULL
ORDER BY id
"""


@dataclass(frozen=True)
class Paused:
    """A campaign the guard paused, and why."""

    campaign_id: UUID
    verdict: Verdict


async def judge(conn: asyncpg.Connection, tally: Tally, now: datetime) -> list[Paused]:
    """Count `tally`, judge what it touched, pause what crossed a line; what was paused."""
    accounts = set(tally.accounts_of.values())
    thresholds = await load_thresholds(conn, accounts)
    sizes = {
        campaign: bucket_size(thresholds[account].window_outcomes)
        for campaign, account in tally.accounts_of.items()
    }
    totals = await counts.add_totals(conn, tally, sizes)
    windows = await counts.add_to_windows(conn, tally, totals)
    await counts.add_hours(conn, tally)
    verdicts: dict[UUID, Verdict] = {}
    for campaign_id, total in totals.items():
        window = windows.get(campaign_id, Rates(0, 0, 0))
        verdict = campaign_verdict(thresholds[total.account_id], total.total, window)
        if verdict is not None:
            verdicts[campaign_id] = verdict
    day = await counts.accounts_since(conn, accounts, now - DAY)
    for account_id, rates in day.items():
        verdict = account_verdict(thresholds[account_id], rates)
        if verdict is not None:
            verdicts |= await _every_campaign(conn, account_id, verdict)
    return await _pause(conn, verdicts)


async def _every_campaign(
    conn: asyncpg.Connection, account_id: UUID, verdict: Verdict
) -> dict[UUID, Verdict]:
    rows = await conn.fetch(ACCOUNT_CAMPAIGNS, account_id, PAUSABLE)
    return {row["id"]: verdict for row in rows}


async def _pause(conn: asyncpg.Connection, verdicts: dict[UUID, Verdict]) -> list[Paused]:
    paused = await guard_pause(conn, {c: v.reason for c, v in verdicts.items()})
    for campaign_id in paused:
        verdict = verdicts[campaign_id]
        metrics.GUARD_PAUSES.labels(verdict.rule, verdict.rate).inc()
        log.warning(
            "guard.paused",
            campaign_id=str(campaign_id),
            rule=verdict.rule,
            rate=verdict.rate,
            reason=verdict.reason,
        )
    return [Paused(c, verdicts[c]) for c in paused]
