"""The writer of campaign state on real Postgres: both flavours, every state, counted and logged."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.campaigns import MAX_REASON, Action, IllegalTransition, State, move, move_locked
from shared.campaigns.lifecycle import TRANSITIONS, WORKER_ACTIONS, allowed_from
from tests.shared.campaigns.helpers import campaign_in, row, transitions

pytestmark = pytest.mark.postgres

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
WORKER_CASES = [(state, action) for action in sorted(WORKER_ACTIONS) for state in State]
API_CASES = [(state, action) for action in Action for state in State]


def _ids(cases: list[tuple[State, Action]]) -> list[str]:
    return [f"{action}-from-{state}" for state, action in cases]


async def _move_locked(
    pool: asyncpg.Pool, campaign_id: UUID, current: State, action: Action, run_id: UUID
) -> dict[str, object]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
        updated = await move_locked(
            conn, campaign_id, current, action, run_id=run_id, launched_at=NOW, now=NOW
        )
    return dict(updated)


@pytest.mark.parametrize(("state", "action"), WORKER_CASES, ids=_ids(WORKER_CASES))
async def test_move_campaign_by_worker_from_every_state(
    pool: asyncpg.Pool, state: State, action: Action
) -> None:
    campaign_id, run_id = await campaign_in(pool, state)
    before, counted = await row(pool, campaign_id), transitions(action)
    with capture_logs() as logs:
        moved = await move(pool, campaign_id, action, run_id=run_id, reason="why")
    after = await row(pool, campaign_id)
    if state not in allowed_from(action):
        assert moved is None
        assert after == before
        assert (transitions(action), logs) == (counted, [])
        return
    target = TRANSITIONS[action][1]
    assert moved is target
    assert (after["state"], after["state_reason"], after["run_id"]) == (target, "why", run_id)
    assert transitions(action) == counted + 1
    [logged] = logs
    assert logged["event"] == "campaign.transition"
    assert (logged["campaign_id"], logged["action"]) == (str(campaign_id), action.value)
    assert (logged["state"], logged["reason"]) == (target.value, "why")


async def test_move_campaign_by_worker_on_stale_run_changes_nothing(pool: asyncpg.Pool) -> None:
    campaign_id, run_id = await campaign_in(pool, State.QUEUED)
    counted = transitions(Action.RESOLVE)
    assert await move(pool, campaign_id, Action.RESOLVE, run_id=uuid4()) is None
    assert (await row(pool, campaign_id))["state"] == State.QUEUED
    assert transitions(Action.RESOLVE) == counted
    assert await move(pool, campaign_id, Action.RESOLVE, run_id=run_id) is State.RESOLVING
    assert await move(pool, campaign_id, Action.SEND) is State.SENDING  # no run given: any run
    assert transitions(Action.RESOLVE) == counted + 1


async def test_move_campaign_by_worker_keeps_reason_and_truncates_it(pool: asyncpg.Pool) -> None:
    campaign_id, _ = await campaign_in(pool, State.SENDING)
    assert await move(pool, campaign_id, Action.PAUSE, reason="quota " * 500) is State.PAUSED
    assert (await row(pool, campaign_id))["state_reason"] == ("quota " * 500)[:MAX_REASON]
    assert await move(pool, campaign_id, Action.FAIL) is State.FAILED  # no reason: kept
    assert (await row(pool, campaign_id))["state_reason"] == ("quota " * 500)[:MAX_REASON]


@pytest.mark.parametrize("action", sorted(set(Action) - WORKER_ACTIONS))
async def test_move_campaign_by_worker_refuses_api_and_completion_actions(
    pool: asyncpg.Pool, action: Action
) -> None:
    campaign_id, _ = await campaign_in(pool, next(iter(allowed_from(action))))
    before = await row(pool, campaign_id)
    with pytest.raises(ValueError, match="not a worker action"):
        await move(pool, campaign_id, action)
    assert await row(pool, campaign_id) == before


@pytest.mark.parametrize(("state", "action"), API_CASES, ids=_ids(API_CASES))
async def test_move_locked_campaign_from_every_state(
    pool: asyncpg.Pool, state: State, action: Action
) -> None:
    campaign_id, _ = await campaign_in(pool, state)
    before, counted, new_run = await row(pool, campaign_id), transitions(action), uuid4()
    if state not in allowed_from(action):
        with pytest.raises(IllegalTransition) as raised:
            await _move_locked(pool, campaign_id, state, action, new_run)
        assert (raised.value.current, raised.value.action) == (state, action)
        assert await row(pool, campaign_id) == before
        assert transitions(action) == counted
        return
    with capture_logs() as logs:
        updated = await _move_locked(pool, campaign_id, state, action, new_run)
    target = TRANSITIONS[action][1]
    assert updated == await row(pool, campaign_id)
    assert (updated["state"], updated["run_id"]) == (target, new_run)
    assert (updated["launched_at"], updated["updated_at"]) == (NOW, NOW)
    assert transitions(action) == counted + 1
    assert [(e["event"], e["campaign_id"], e["state"]) for e in logs] == [
        ("campaign.transition", str(campaign_id), target.value)
    ]


async def test_move_locked_campaign_that_moved_meanwhile_raises(pool: asyncpg.Pool) -> None:
    campaign_id, run_id = await campaign_in(pool, State.PAUSED)
    before, counted = await row(pool, campaign_id), transitions(Action.PAUSE)
    with pytest.raises(IllegalTransition):  # the caller believed it queued: no lock was held
        await _move_locked(pool, campaign_id, State.QUEUED, Action.PAUSE, run_id)
    assert await row(pool, campaign_id) == before
    assert transitions(Action.PAUSE) == counted
