"""Stalled campaigns: running, yet their progress has not moved for a while, and why.

Every progress write (the resolver's batches, the sender's counters, a state move)
bumps `campaigns.updated_at`. A campaign queued, resolving or sending whose
`updated_at` is older than the threshold at the injected clock's `now` is making no
progress, unless it is held on purpose until a time still ahead (`wait_until`: its
warm-up allowance of the day is used up; the API shows it as `held`). Its state names
the stage it waits on (queued or resolving: lead_resolver on `campaign.launches`;
sending: the sender on `email.sends`), and the likely reason is decided cheaply, in
this order:

- `provider_stopped`: the sender's provider-wait lease holds (it is alive, retrying);
- `unknown`: the broker could not be asked about the stage's group in time;
- `no_consumer`: the stage's consumer group has no members;
- `lag_growing`: it has members, yet is behind and not catching up;
- `unknown`: nothing the broker shows explains it.

The broker is asked at most once per group per page or count (`ConsumerGroups`
caches and bounds each look). The count by reason is exported on /metrics every
`interval_s`; each campaign_api instance exports the same counts: alert on max.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.campaigns.consumer_groups import ConsumerGroups, GroupLook
from shared import metrics
from shared.campaigns import State
from shared.periodic import stopped_within
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)

WallClock = Callable[[], datetime]
RUNNING = (State.QUEUED, State.RESOLVING, State.SENDING)
# One row per (state, waiting on the provider): bounded, whatever the campaign count.
STALLED = """
SELECT state, COALESCE(provider_wait_until > $3, false) AS waiting, count(*) AS n
FROM campaigns WHERE state = ANY($1::text[]) AND updated_at < $2
  AND NOT COALESCE(wait_until > $3, false)
GROUP BY 1, 2
"""


def utc_now() -> datetime:
    """The production wall clock."""
    return datetime.now(UTC)


class StallReason(StrEnum):
    """The likely reason a running campaign makes no progress."""

    NO_CONSUMER = "no_consumer"
    LAG_GROWING = "lag_growing"
    PROVIDER_STOPPED = "provider_stopped"
    UNKNOWN = "unknown"


class Stalled(BaseModel):
    """The campaign is running, yet its progress has not moved for the stall threshold
    (FANOUT_CAMPAIGN_API_STALLED_AFTER_SECONDS), and the likely reason why.

    `no_consumer`: no instance of the stage it waits on (lead_resolver while queued or
    resolving, the sender while sending) is in its consumer group. `lag_growing`: that
    group has members but is behind on its topic and not catching up. `provider_stopped`:
    the email provider is refusing or throttling every send. `unknown`: Kafka could not be
    asked in time, or nothing it shows explains the stall; `detail` says which.
    """

    model_config = ConfigDict(frozen=True)

    since: datetime = Field(description="When its progress last moved (its `updated_at`).")
    reason: StallReason
    detail: str = Field(description="One sentence on what was found, for people.")


@dataclass(frozen=True)
class Stage:
    """The service a campaign waits on, with its consumer group and topic."""

    service: str
    group: str
    topic: str


def explain(
    stage: Stage, provider_wait: str | None, look: GroupLook | None
) -> tuple[StallReason, str]:
    """The likely reason a campaign waiting on `stage` is stalled, and a sentence saying so:
    `provider_wait` is the provider's latest answer while its wait lasts, `look` the
    broker's word on the stage's group (needed unless the provider is waited on)."""
    if provider_wait is not None:
        return StallReason.PROVIDER_STOPPED, (
            f"the email provider is not accepting sends ({provider_wait or 'no reason given'}); "
            "the sender keeps retrying until it does"
        )
    who = f"{stage.service}'s consumer group {stage.group}"
    if look is None:
        return StallReason.UNKNOWN, f"Kafka was not asked about {who}"
    if look.error is not None:
        return StallReason.UNKNOWN, f"could not ask Kafka about {who}: {look.error}"
    if not look.members:
        return StallReason.NO_CONSUMER, (
            f"{who} has no members: no {stage.service} instance consumes {stage.topic}"
        )
    lag, before = look.lag or 0, look.previous_lag
    state = f"{who} has {look.members} member(s) and is {lag} records behind on {stage.topic}"
    if lag and (before is None or lag >= before):
        return StallReason.LAG_GROWING, state + (f" (was {before})" if before is not None else "")
    return StallReason.UNKNOWN, state + "; the broker shows nothing holding the campaign back"


def _provider_wait(row: Mapping[str, Any], now: datetime) -> str | None:
    """The provider's latest answer while the sender's wait lease on `row` holds at `now`."""
    until = row.get("provider_wait_until")
    return row.get("provider_wait_reason") or "" if until is not None and until > now else None


def _held(row: Mapping[str, Any], now: datetime) -> bool:
    """Held on purpose until a time still ahead (a warm-up allowance used up)."""
    until = row.get("wait_until")
    return until is not None and until > now


@dataclass(frozen=True)
class Stages:
    """The stages a running campaign can wait on."""

    resolver: Stage
    sender: Stage

    @classmethod
    def named(cls, prefix: str, resolver_group: str, sender_group: str) -> Stages:
        """The stages of a deployment whose topics and groups carry `prefix`."""
        return cls(
            Stage(
                "lead_resolver",
                prefix + resolver_group,
                topic_name(Topic.CAMPAIGN_LAUNCHES, prefix),
            ),
            Stage("sender", prefix + sender_group, topic_name(Topic.EMAIL_SENDS, prefix)),
        )

    def of(self, state: str) -> Stage:
        """The stage a campaign in `state` waits on."""
        return self.sender if state == State.SENDING else self.resolver


class Stalls:
    """Which running campaigns are stalled at `clock()` (no progress for `after`), and why."""

    def __init__(
        self, stages: Stages, groups: ConsumerGroups, after: timedelta, clock: WallClock = utc_now
    ) -> None:
        self.stages, self.groups, self._after, self._clock = stages, groups, after, clock

    async def of_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[Stalled | None]:
        """Each campaign row's stall (None while it progresses); one look per group at most."""
        now = self._clock()
        stuck = {
            i: (self.stages.of(row["state"]), _provider_wait(row, now))
            for i, row in enumerate(rows)
            if row["state"] in RUNNING
            and row["updated_at"] < now - self._after
            and not _held(row, now)
        }
        looks = await self._looks(stage for stage, wait in stuck.values() if wait is None)
        stalls: list[Stalled | None] = [None] * len(rows)
        for i, (stage, wait) in stuck.items():
            reason, detail = explain(stage, wait, looks.get(stage.group))
            stalls[i] = Stalled(since=rows[i]["updated_at"], reason=reason, detail=detail)
        return stalls

    async def count(self, pool: asyncpg.Pool) -> Counter[StallReason]:
        """Stalled campaigns of every account by reason (every reason present, maybe 0)."""
        now = self._clock()
        running = [s.value for s in RUNNING]
        rows = await pool.fetch(STALLED, running, now - self._after, now)
        looks = await self._looks(self.stages.of(r["state"]) for r in rows if not r["waiting"])
        counts = Counter(dict.fromkeys(StallReason, 0))
        for row in rows:
            stage = self.stages.of(row["state"])
            wait = "" if row["waiting"] else None
            counts[explain(stage, wait, looks.get(stage.group))[0]] += row["n"]
        return counts

    async def _looks(self, stages: Iterable[Stage]) -> dict[str, GroupLook]:
        wanted = {stage.group: stage for stage in stages}
        found = await asyncio.gather(*(self.groups.look(s.group, s.topic) for s in wanted.values()))
        return {look.group: look for look in found}


async def watch_stalls(
    stalls: Stalls, pool: asyncpg.Pool, stop: asyncio.Event, *, interval_s: float
) -> None:
    """Export the stalled campaigns' count, in all and by reason, every `interval_s` until
    `stop` is set."""
    while not stop.is_set():
        try:
            counts = await stalls.count(pool)
            metrics.CAMPAIGNS_STALLED.set(counts.total())
            for reason, n in counts.items():
                metrics.CAMPAIGNS_STALLED_BY_REASON.labels(reason.value).set(n)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            log.warning("stalls.count_failed", error=repr(exc))
        await stopped_within(stop, interval_s)
