"""The campaign state machine over HTTP: every legal move answers 202, every illegal one 409."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from fastapi import FastAPI

from services.campaign_api.campaigns.scheduler import start_due_campaigns
from shared.campaigns import API_ACTIONS, Action, State, allowed_from, move
from shared.topics import Topic, topic_name
from tests.campaign_api.conftest import Tenant
from tests.campaign_api.helpers import make_campaign, outbox_commands

pytestmark = pytest.mark.postgres

# The lifecycle as the issue states it, written out independently of the table under test.
LEGAL_FROM: dict[str, set[State]] = {
    "launch": {State.DRAFT},
    "pause": {State.QUEUED, State.SCHEDULED, State.RESOLVING, State.SENDING},
    "resume": {State.PAUSED},
    "cancel": {
        State.DRAFT,
        State.SCHEDULED,
        State.QUEUED,
        State.RESOLVING,
        State.SENDING,
        State.PAUSED,
    },
}
CASES = [(state, action) for action in LEGAL_FROM for state in State]


def test_transition_table_matches_the_issue() -> None:
    for action, sources in LEGAL_FROM.items():
        assert allowed_from(Action(action)) == sources
    assert allowed_from(Action.SCHEDULE) == {State.DRAFT}
    assert {Action.LAUNCH, Action.PAUSE, Action.RESUME, Action.CANCEL} <= API_ACTIONS


async def _force_state(pool: asyncpg.Pool, campaign: dict[str, Any], state: State) -> None:
    launched = state not in (State.DRAFT, State.SCHEDULED)
    await pool.execute(
        "UPDATE campaigns SET state = $2, run_id = gen_random_uuid(), "
        "launched_at = CASE WHEN $3 THEN now() END WHERE id = $1",
        campaign["id"],
        state.value,
        launched,
    )


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
async def test_campaign_action_from_every_state(
    tenant: Tenant, pool: asyncpg.Pool, state: State, action: str
) -> None:
    campaign = await make_campaign(tenant.client)
    await _force_state(pool, campaign, state)
    before = await outbox_commands(pool, campaign["id"])
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/{action}")
    after = await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", campaign["id"])
    if state in LEGAL_FROM[action]:
        assert response.status_code == 202, response.text
        assert response.json()["state"] == after != state.value
    else:
        assert response.status_code == 409, response.text
        extra = response.json()["extra"]
        assert extra == {"current_state": state.value, "action": action}
        assert after == state.value
        assert await outbox_commands(pool, campaign["id"]) == before


async def test_launch_campaign_writes_one_launch_command(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    campaign = await make_campaign(tenant.client)
    launched = (await tenant.client.post(f"/campaigns/{campaign['id']}/launch")).json()
    assert launched["state"] == "queued"
    assert launched["launched_at"] is not None
    (command,) = await outbox_commands(pool, campaign["id"])
    assert (command.kind, str(command.run_id)) == ("launch", launched["run_id"])
    paused = (await tenant.client.post(f"/campaigns/{campaign['id']}/pause")).json()
    resumed = (await tenant.client.post(f"/campaigns/{campaign['id']}/resume")).json()
    assert paused["run_id"] == launched["run_id"] != resumed["run_id"]
    kinds = [(c.kind.value, str(c.run_id)) for c in await outbox_commands(pool, campaign["id"])]
    assert kinds == [
        ("launch", launched["run_id"]),
        ("pause", launched["run_id"]),
        ("resume", resumed["run_id"]),
    ]


async def test_launch_scheduled_campaign_waits_for_its_time(
    tenant: Tenant, pool: asyncpg.Pool, api_app: FastAPI
) -> None:
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, api_app.state.settings.common.topic_prefix)
    soon = datetime.now(UTC) + timedelta(hours=1)
    campaign = await make_campaign(tenant.client, scheduled_at=soon.isoformat())
    scheduled = (await tenant.client.post(f"/campaigns/{campaign['id']}/launch")).json()
    assert scheduled["state"] == "scheduled"
    assert await outbox_commands(pool, campaign["id"]) == []
    await start_due_campaigns(pool, topic)
    assert await outbox_commands(pool, campaign["id"]) == []
    await pool.execute(
        "UPDATE campaigns SET scheduled_at = now() - interval '1 second' WHERE id = $1",
        campaign["id"],
    )
    assert await start_due_campaigns(pool, topic) >= 1
    (command,) = await outbox_commands(pool, campaign["id"])
    assert (command.kind, str(command.run_id)) == ("launch", scheduled["run_id"])
    state = await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", campaign["id"])
    assert state == "queued"


async def test_launch_campaign_with_past_schedule_is_422(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    campaign = await make_campaign(tenant.client, scheduled_at=soon.isoformat())
    await pool.execute(
        "UPDATE campaigns SET scheduled_at = now() - interval '1 minute' WHERE id = $1",
        campaign["id"],
    )
    response = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "scheduled_at"]


async def test_update_campaign_after_launch_is_409(tenant: Tenant) -> None:
    campaign = await make_campaign(tenant.client)
    await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    response = await tenant.client.patch(f"/campaigns/{campaign['id']}", json={"name": "x"})
    assert response.status_code == 409
    assert response.json()["extra"]["current_state"] == "queued"


async def test_pause_scheduled_campaign_writes_no_command(
    tenant: Tenant, pool: asyncpg.Pool
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    campaign = await make_campaign(tenant.client, scheduled_at=soon.isoformat())
    await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    paused = await tenant.client.post(f"/campaigns/{campaign['id']}/pause")
    assert paused.json()["state"] == "paused"
    assert await outbox_commands(pool, campaign["id"]) == []  # the resolver never heard of it
    resumed = (await tenant.client.post(f"/campaigns/{campaign['id']}/resume")).json()
    assert resumed["state"] == "scheduled"  # its time is still ahead (tests/campaign_api/
    assert await outbox_commands(pool, campaign["id"]) == []  # test_schedule.py)
    draft = await make_campaign(tenant.client)
    assert (await tenant.client.post(f"/campaigns/{draft['id']}/cancel")).status_code == 202
    assert await outbox_commands(pool, draft["id"]) == []


async def test_worker_move_never_overwrites_api_pause(tenant: Tenant, pool: asyncpg.Pool) -> None:
    campaign = await make_campaign(tenant.client)
    launched = (await tenant.client.post(f"/campaigns/{campaign['id']}/launch")).json()
    run, cid = UUID(launched["run_id"]), UUID(campaign["id"])
    assert await move(pool, cid, Action.RESOLVE, run_id=run) is State.RESOLVING
    await tenant.client.post(f"/campaigns/{campaign['id']}/pause")
    assert await move(pool, cid, Action.SEND, run_id=run) is None  # paused meanwhile
    resumed = (await tenant.client.post(f"/campaigns/{campaign['id']}/resume")).json()
    assert await move(pool, cid, Action.RESOLVE, run_id=run) is None  # the old run
    assert await move(pool, cid, Action.RESOLVE, run_id=UUID(resumed["run_id"])) is State.RESOLVING
    paused = (await tenant.client.post(f"/campaigns/{campaign['id']}/pause")).json()
    assert paused["state"] == "paused"
    assert (await tenant.client.get(f"/campaigns/{campaign['id']}")).json()["state"] == "paused"
