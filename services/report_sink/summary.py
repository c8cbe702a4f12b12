"""Keeps `campaign_summary` (the campaign list's numbers) current, off the insert path.

After each insert the sink hands over the (account, campaign) pairs its batch touched
(`touched`, which only records them). This worker recomputes them from lead_steps, the
exact source (one row per lead with its steps as bits; the hours from campaign_hourly's
keys), at most once per campaign every `interval_s` (`Debounce`): a busy campaign is
recomputed every interval, and the last touch of a campaign is always followed by a
recompute, so the summary converges to the exact numbers. It runs on a ClickHouse client
of its own: inserts and report queries never wait on it.

A recompute reads every lead of its campaigns, so it costs in proportion to their size
(merging campaign_hourly's lead sets, as it did before lead_steps, took 0.2–0.5 s and
100–160 MB for a campaign of 1M emails on two cores), and a fixed interval would make a
large running campaign cost more and more of the sink's CPU. The worker paces itself
instead (`paced_interval`): after a recompute of t seconds, the campaigns wait at least
t / `busy_share` before their next, so it is busy at most that share of the time
whatever the campaigns' sizes; small campaigns keep `interval_s`.

What a crash loses, the table remembers: its view marks every insert with `touched_at`
and a recompute writes `computed_at`, so on start and on each partition assignment
(`sweep_soon`: another instance may have died with recomputes owed) every campaign
touched since its last recompute is recomputed too (`stale`). `SETTLE_S` covers an
insert that began before a recompute read the table and was stored after it. Rows of
one campaign merge by max (migration 0006), so recomputes by several instances in any
order leave the newest numbers.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple
from uuid import UUID

import structlog

from services.report_sink.debounce import Debounce
from services.report_sink.queries import HEADLINES
from services.report_sink.steps import count_steps
from shared.clickhouse import AsyncClickHouse
from shared.periodic import Clock

log = structlog.get_logger(__name__)

SETTLE_S = 60  # longer than any insert takes from its start to its commit


class CampaignKey(NamedTuple):
    """One campaign of one account: the summary's key."""

    account_id: UUID
    campaign_id: UUID


# The counts from lead_steps (one ordered pass over each campaign's leads, read with FINAL),
# the hours from campaign_hourly's keys (no lead set is merged).
RECOMPUTE_SQL = f"""
INSERT INTO campaign_summary
    (account_id, campaign_id, first_event_hour, last_event_hour, {", ".join(HEADLINES)},
     computed_at)
SELECT account_id, campaign_id, first_hour, last_hour, {", ".join(HEADLINES)}, now64(3, 'UTC')
FROM (
    SELECT account_id, campaign_id, {count_steps(HEADLINES)}
    FROM lead_steps FINAL
    WHERE account_id = {{account:UUID}} AND campaign_id IN {{campaigns:Array(UUID)}}
    GROUP BY account_id, campaign_id
) AS counts
INNER JOIN (
    SELECT account_id, campaign_id, min(hour) AS first_hour, max(hour) AS last_hour
    FROM campaign_hourly
    WHERE account_id = {{account:UUID}} AND campaign_id IN {{campaigns:Array(UUID)}}
    GROUP BY account_id, campaign_id
) AS hours USING (account_id, campaign_id)
"""  # the step names are constants, never input

STALE_SQL = f"""
SELECT account_id, campaign_id
FROM campaign_summary
GROUP BY account_id, campaign_id
HAVING max(touched_at) >= max(computed_at) - toIntervalSecond({SETTLE_S})
"""


def paced_interval(interval_s: float, busy_share: float, elapsed_s: float) -> float:
    """The time between two recomputes of a campaign after one took `elapsed_s`: at least
    `interval_s`, and long enough that recomputing takes at most `busy_share` of it."""
    return max(interval_s, elapsed_s / busy_share)


class CampaignSummaries:
    """The recompute worker: `touched` from the insert path, `run` as a task beside it."""

    def __init__(
        self,
        ch: AsyncClickHouse,
        interval_s: float,
        clock: Clock = time.monotonic,
        busy_share: float = 1.0,
    ) -> None:
        self._ch = ch
        self._interval_s, self._busy_share, self._clock = interval_s, busy_share, clock
        self._debounce: Debounce[CampaignKey] = Debounce(interval_s, clock)
        self._wake = asyncio.Event()
        self._sweep = True  # the first round looks for recomputes owed by a previous run
        self.recomputed = 0  # campaigns recomputed since start (tests, benchmarks)

    def touched(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Campaigns an insert touched, as (account id, campaign id) strings: recompute them."""
        self._debounce.touch(_keys(pairs))
        self._wake.set()

    def sweep_soon(self) -> None:
        """Also recompute every campaign touched since its last recompute, by anyone."""
        self._sweep = True
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Recompute what is due until `stop`; then everything still waiting, once."""
        while not stop.is_set():
            self._wake.clear()
            await self.recompute_due()
            await self._sleep(stop)
        await self._recompute(self._debounce.take_all())

    async def recompute(self, keys: Iterable[CampaignKey]) -> None:
        """Recompute these campaigns' summaries now (one query per account)."""
        by_account: dict[UUID, list[UUID]] = defaultdict(list)
        for key in keys:
            by_account[key.account_id].append(key.campaign_id)
        for account, campaigns in by_account.items():
            await self._ch.command(RECOMPUTE_SQL, {"account": account, "campaigns": campaigns})
            self.recomputed += len(campaigns)

    async def stale(self) -> list[CampaignKey]:
        """Campaigns touched since their last recompute (or never recomputed)."""
        return [CampaignKey(a, c) for a, c in await self._ch.rows(STALE_SQL)]

    @property
    def interval_s(self) -> float:
        """The time between two recomputes of a campaign now (paced by the last one)."""
        return self._debounce.interval_s

    async def recompute_due(self) -> None:
        """One round: the sweep for recomputes owed (on start, after `sweep_soon`), then
        every campaign due."""
        if self._sweep:
            self._sweep = False
            try:
                self._debounce.touch(await self.stale())
            except Exception as exc:  # retried next round; the service keeps running
                self._sweep = True
                log.warning("summary.sweep_failed", error=str(exc))
        await self._recompute(self._debounce.take())

    async def _recompute(self, keys: list[CampaignKey]) -> None:
        if not keys:
            return
        started = self._clock()
        try:
            await self.recompute(keys)
        except Exception as exc:  # the keys wait again: retried one interval later
            self._debounce.restore(keys)
            log.warning("summary.recompute_failed", campaigns=len(keys), error=str(exc))
            return
        elapsed = self._clock() - started
        paced = paced_interval(self._interval_s, self._busy_share, elapsed)
        self._debounce.interval_s = paced
        log.debug(
            "summary.recomputed",
            campaigns=len(keys),
            seconds=round(elapsed, 3),
            next_in_s=round(paced, 3),
        )

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until a key is due, a touch, or `stop`; a failed sweep is retried after 1 s."""
        timeout = 1.0 if self._sweep else self._debounce.wait_s()
        waits = [asyncio.ensure_future(e.wait()) for e in (self._wake, stop)]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()


def _keys(pairs: Iterable[tuple[str, str]]) -> list[CampaignKey]:
    keys = []
    for account, campaign in pairs:
        try:
            keys.append(CampaignKey(UUID(account), UUID(campaign)))
        except ValueError:  # ClickHouse took a spelling Python does not: the sweep finds it
            log.warning("summary.unreadable_campaign", account=account, campaign=campaign)
    return keys
