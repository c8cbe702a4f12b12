"""A resume keeps the schedule: paused before its time, a campaign waits for that time again.

Every time here is pinned relative to one fixed scheduled time (`AT`), never read from the
machine's clock or today's date: the actions and the scheduler are called with `now`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from fastapi import FastAPI

from services.campaign_api.campaigns.commands import apply_action
from services.campaign_api.campaigns.scheduler import pause_until, start_due_campaigns
from shared.campaigns import Action, State
from shared.topics import Topic, topic_name
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, outbox_commands
from tests.shared.campaigns.helpers import transitions

pytestmark = pytest.mark.postgres

AT = datetime(2100, 1, 1, 9, 0, tzinfo=UTC)  # the campaign's scheduled time


class Scheduled:
    """One campaign scheduled at `AT`, moved by the API's own functions at pinned times."""

    def __init__(self, tenant: Tenant, pool: asyncpg.Pool, topic: str, campaign_id: str) -> None:
        self.tenant, self.pool, self.topic, self.id = tenant, pool, topic, campaign_id

    async def act(self, action: Action, minutes: int) -> dict[str, Any]:
        """`action` requested `minutes` after `AT` (negative: before)."""
        now = AT + timedelta(minutes=minutes)
        return await apply_action(
            self.pool, self.tenant.account_id, UUID(self.id), action, topic=self.topic, now=now
        )

    async def scheduler_runs(self, minutes: int) -> State:
        """The scheduler's pass `minutes` after `AT`; the campaign's state after it."""
        await start_due_campaigns(self.pool, self.topic, now=AT + timedelta(minutes=minutes))
        return State(await self.pool.fetchval("SELECT state FROM campaigns WHERE id = $1", self.id))

    async def commands(self) -> list[tuple[str, str]]:
        """(kind, run id) of every command the outbox holds for the campaign."""
        return [(c.kind.value, str(c.run_id)) for c in await outbox_commands(self.pool, self.id)]


@pytest.fixture
async def scheduled(tenant: Tenant, pool: asyncpg.Pool, api_app: FastAPI) -> Scheduled:
    """A draft with `scheduled_at` = `AT`, launched two hours before: `scheduled`."""
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, api_app.state.settings.common.topic_prefix)
    draft = await make_campaign(tenant.client, scheduled_at=AT.isoformat())
    campaign = Scheduled(tenant, pool, topic, draft["id"])
    assert (await campaign.act(Action.LAUNCH, -120))["state"] == State.SCHEDULED
    return campaign


async def test_resume_campaign_paused_before_its_time_waits_for_it(scheduled: Scheduled) -> None:
    assert (await scheduled.act(Action.PAUSE, -90))["state"] == State.PAUSED
    before = transitions(Action.RESCHEDULE)
    resumed = await scheduled.act(Action.RESUME, -60)
    assert (resumed["state"], resumed["scheduled_at"], resumed["launched_at"]) == (
        State.SCHEDULED,
        AT,
        None,
    )
    assert transitions(Action.RESCHEDULE) == before + 1
    assert await scheduled.commands() == []  # nothing is sent yet
    assert await scheduled.scheduler_runs(-1) is State.SCHEDULED
    assert await scheduled.scheduler_runs(0) is State.QUEUED  # launched at its time
    assert await scheduled.commands() == [("launch", str(resumed["run_id"]))]


async def test_resume_campaign_paused_and_resumed_twice_before_its_time(
    scheduled: Scheduled,
) -> None:
    for minutes in (-90, -60):
        await scheduled.act(Action.PAUSE, minutes)
        assert (await scheduled.act(Action.RESUME, minutes + 5))["state"] == State.SCHEDULED
    assert await scheduled.commands() == []


async def test_resume_campaign_whose_time_passed_while_paused_sends_now(
    scheduled: Scheduled,
) -> None:
    await scheduled.act(Action.PAUSE, -90)
    resumed = await scheduled.act(Action.RESUME, 30)
    assert (resumed["state"], resumed["launched_at"]) == (State.QUEUED, AT + timedelta(minutes=30))
    assert await scheduled.commands() == [("launch", str(resumed["run_id"]))]


async def test_resume_campaign_paused_after_it_started_is_queued(scheduled: Scheduled) -> None:
    assert await scheduled.scheduler_runs(0) is State.QUEUED
    paused = await scheduled.act(Action.PAUSE, 5)
    resumed = await scheduled.act(Action.RESUME, 10)
    assert (resumed["state"], resumed["launched_at"]) == (State.QUEUED, AT)
    assert await scheduled.commands() == [
        ("launch", str(paused["run_id"])),
        ("pause", str(paused["run_id"])),
        ("resume", str(resumed["run_id"])),
    ]


@pytest.mark.parametrize(
    ("due_in_s", "longest", "expected"),
    [
        (None, 10.0, 10.0),  # nothing scheduled: the longest wait
        (3.0, 10.0, 3.01),  # until the next campaign is due (a hair after)
        (30.0, 10.0, 10.0),  # never longer than the longest wait
        (-5.0, 10.0, 0.0),  # overdue: at once
    ],
)
def test_scheduler_sleeps_until_the_next_due_campaign(
    due_in_s: float | None, longest: float, expected: float
) -> None:
    due = None if due_in_s is None else AT + timedelta(seconds=due_in_s)
    assert pause_until(due, AT, longest) == pytest.approx(expected)
