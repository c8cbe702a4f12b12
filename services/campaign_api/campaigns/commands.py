"""Launch, pause, resume and cancel: one transaction each, state change plus outbox row.

Commands reach lead_resolver only for runs it may have seen: a campaign that
was only scheduled (never launched) needs no pause/cancel command. Launch and
resume start a new run (`run_id`); counters are kept. A resume keeps the
schedule: a campaign paused before its scheduled time, resumed while that time is
still ahead, is `scheduled` again (no command; the scheduler launches it when
due). lead_resolver handles a command idempotently per (campaign, run_id, kind),
so a command the relay publishes twice changes nothing the second time.

A campaign the guard paused (`guard_reason`) resumes only with an explicit override
(`override_guard`): without one the resume is refused (`GuardHold`, HTTP 409 naming the
reason and the override) and nothing is written; with one the hold is lifted in the
resume's transaction and the guard leaves the campaign alone (`shared.campaigns.guard`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.campaign_api.campaigns.outbox import enqueue_command, make_command
from services.campaign_api.owned import fetch_owned
from shared.campaigns import Action, State, move_locked, next_state, release_guard_hold
from shared.contracts import CommandKind

# Called with the locked campaign row before a run is started (launch, schedule, resume,
# reschedule) is written; raises to refuse.
LaunchCheck = Callable[[asyncpg.Connection, asyncpg.Record, datetime], Awaitable[None]]
STARTS_A_RUN = frozenset({Action.LAUNCH, Action.SCHEDULE, Action.RESUME, Action.RESCHEDULE})


def all_checks(*checks: LaunchCheck) -> LaunchCheck:
    """One check running `checks` in order; the first to raise refuses."""

    async def run(conn: asyncpg.Connection, row: asyncpg.Record, now: datetime) -> None:
        for check in checks:
            await check(conn, row, now)

    return run


class CampaignNotFound(LookupError):
    """No such campaign in this account."""


class ScheduleInPast(ValueError):
    """Launching a campaign whose scheduled time has already passed."""


class GuardHold(Exception):  # noqa: N818 - a refusal, named as the API says it
    """Resuming a campaign the guard paused, without overriding the guard."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Change:
    action: Action
    run_id: UUID | None
    launched_at: datetime | None
    command: CommandKind | None


def _waits_for_its_time(row: asyncpg.Record, now: datetime) -> bool:
    """Never started (paused while scheduled) and its scheduled time is still ahead."""
    when: datetime | None = row["scheduled_at"]
    return row["launched_at"] is None and when is not None and when > now


def _plan(requested: Action, row: asyncpg.Record, now: datetime) -> _Change:
    launched = row["launched_at"] is not None
    run_id: UUID | None = row["run_id"]
    if requested is Action.LAUNCH:
        when: datetime | None = row["scheduled_at"]
        if when is not None and when <= now:
            raise ScheduleInPast(f"scheduled_at {when.isoformat()} has passed; clear or move it")
        if when is not None:
            return _Change(Action.SCHEDULE, uuid4(), None, None)
        return _Change(Action.LAUNCH, uuid4(), now, CommandKind.LAUNCH)
    if requested is Action.RESUME:
        if _waits_for_its_time(row, now):
            return _Change(Action.RESCHEDULE, uuid4(), None, None)
        kind = CommandKind.RESUME if launched else CommandKind.LAUNCH
        return _Change(Action.RESUME, uuid4(), row["launched_at"] or now, kind)
    told = launched and run_id is not None
    kind = {Action.PAUSE: CommandKind.PAUSE, Action.CANCEL: CommandKind.CANCEL}[requested]
    return _Change(requested, run_id, row["launched_at"], kind if told else None)


async def lock_campaign(
    conn: asyncpg.Connection, campaign_id: UUID, account_id: UUID
) -> asyncpg.Record | None:
    """The account's campaign, locked until the transaction ends; None if it has no such one."""
    return await fetch_owned(conn, "campaigns", "*", account_id, campaign_id, for_update=True)


async def apply_action(
    pool: asyncpg.Pool,
    account_id: UUID,
    campaign_id: UUID,
    requested: Action,
    *,
    topic: str,
    now: datetime,
    launch_check: LaunchCheck | None = None,
    override_guard: bool = False,
) -> dict[str, Any]:
    """Apply an API action; raises `CampaignNotFound`, `IllegalTransition`, `ScheduleInPast`,
    `GuardHold` (a resume of a campaign the guard paused, without `override_guard`).

    A move that starts a run (launch, schedule, resume, reschedule) first runs
    `launch_check` (which may raise, e.g. `LaunchRefused`) on the locked row, so
    nothing is written when it refuses.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await lock_campaign(conn, campaign_id, account_id)
        if row is None:
            raise CampaignNotFound(campaign_id)
        current = State(row["state"])
        next_state(current, requested)  # the requested action must be legal
        held = requested is Action.RESUME and row["guard_reason"] is not None
        if held and not override_guard:
            raise GuardHold(row["guard_reason"])
        change = _plan(requested, row, now)
        if launch_check is not None and change.action in STARTS_A_RUN:
            await launch_check(conn, row, now)
        if held:
            await release_guard_hold(conn, campaign_id, now)
        if change.command is not None and change.run_id is not None:
            command = make_command(change.command, campaign_id, account_id, change.run_id, now)
            await enqueue_command(conn, topic, command)
        # the move comes last in the transaction, so it is counted only once all else is written
        updated = await move_locked(
            conn,
            campaign_id,
            current,
            change.action,
            run_id=change.run_id,
            launched_at=change.launched_at,
            now=now,
        )
    return dict(updated)
