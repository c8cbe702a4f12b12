"""Stalled campaigns: running with no progress for the threshold, counted for /metrics.

Times are pinned: the launch happens at `LAUNCHED` (an instant no other test uses), and
the count is asked just before and just after the threshold has passed since it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
from fastapi import FastAPI

from services.campaign_api.campaigns.commands import apply_action
from services.campaign_api.campaigns.stalls import count_stalled
from shared.campaigns import Action, State
from shared.topics import Topic, topic_name
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign

pytestmark = pytest.mark.postgres

LAUNCHED = datetime(2101, 3, 7, 13, 17, 29, tzinfo=UTC)
AFTER = timedelta(minutes=10)
SECOND = timedelta(seconds=1)


async def test_count_stalled_campaigns_counts_a_running_campaign_without_progress(
    tenant: Tenant, pool: asyncpg.Pool, api_app: FastAPI
) -> None:
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, api_app.state.settings.common.topic_prefix)
    campaign = UUID((await make_campaign(tenant.client))["id"])

    async def act(action: Action) -> State:
        row = await apply_action(
            pool, tenant.account_id, campaign, action, topic=topic, now=LAUNCHED
        )
        return State(row["state"])

    assert await act(Action.LAUNCH) == State.QUEUED
    before = await count_stalled(pool, AFTER, LAUNCHED + AFTER - SECOND)
    assert await count_stalled(pool, AFTER, LAUNCHED + AFTER + SECOND) == before + 1

    assert await act(Action.PAUSE) == State.PAUSED  # paused on purpose: not stalled
    assert await count_stalled(pool, AFTER, LAUNCHED + AFTER + SECOND) == before
