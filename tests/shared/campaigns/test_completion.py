"""The completion rule on real Postgres: complete only when every matched lead has an outcome."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest
from structlog.testing import capture_logs

from shared.campaigns import Action, State, complete_if_accounted
from tests.send_path import counted_batch
from tests.shared.campaigns.helpers import campaign_in, row, transitions

pytestmark = pytest.mark.postgres


async def _resolved(pool: asyncpg.Pool, state: State, matched: int, *, done: bool = True) -> UUID:
    campaign_id, _ = await campaign_in(pool, state)
    await pool.execute(
        "UPDATE campaigns SET matched = $2, resolve_done = $3 WHERE id = $1",
        campaign_id,
        matched,
        done,
    )
    return campaign_id


async def _outcomes(pool: asyncpg.Pool, campaign_id: UUID, batch_no: int, sent: int) -> None:
    await counted_batch(pool, campaign_id, batch_no, sent=sent, failed=1, suppressed=1, cancelled=1)


async def test_complete_campaign_once_every_matched_lead_is_accounted(pool: asyncpg.Pool) -> None:
    campaign_id = await _resolved(pool, State.SENDING, matched=10)
    await _outcomes(pool, campaign_id, 0, sent=2)  # 5 of 10
    counted = transitions(Action.COMPLETE)
    assert await complete_if_accounted(pool, [campaign_id]) == []
    assert (await row(pool, campaign_id))["state"] == State.SENDING
    await _outcomes(pool, campaign_id, 1, sent=2)
    with capture_logs() as logs:
        assert await complete_if_accounted(pool, [campaign_id]) == [campaign_id]
    done = await row(pool, campaign_id)
    assert done["state"] == State.COMPLETED and done["completed_at"] is not None
    assert transitions(Action.COMPLETE) == counted + 1
    assert [(e["event"], e["campaign_id"], e["action"]) for e in logs] == [
        ("campaign.transition", str(campaign_id), "complete")
    ]
    assert await complete_if_accounted(pool, [campaign_id]) == []  # once only


async def test_complete_campaign_accounts_leads_excluded_at_resolve_time(
    pool: asyncpg.Pool,
) -> None:
    campaign_id = await _resolved(pool, State.SENDING, matched=12)
    await pool.execute("UPDATE campaigns SET excluded = 6 WHERE id = $1", campaign_id)
    await _outcomes(pool, campaign_id, 0, sent=0)  # 3 outcomes + 6 excluded of 12
    assert await complete_if_accounted(pool, [campaign_id]) == []
    await _outcomes(pool, campaign_id, 1, sent=0)  # 6 + 6
    assert await complete_if_accounted(pool, [campaign_id]) == [campaign_id]


async def test_complete_campaign_waits_for_resolving_to_finish(pool: asyncpg.Pool) -> None:
    campaign_id = await _resolved(pool, State.SENDING, matched=0, done=False)
    assert await complete_if_accounted(pool, [campaign_id]) == []
    assert (await row(pool, campaign_id))["state"] == State.SENDING


@pytest.mark.parametrize("state", [s for s in State if s is not State.SENDING])
async def test_complete_campaign_only_from_sending(pool: asyncpg.Pool, state: State) -> None:
    campaign_id = await _resolved(pool, state, matched=0)
    counted = transitions(Action.COMPLETE)
    assert await complete_if_accounted(pool, [campaign_id]) == []
    assert (await row(pool, campaign_id))["state"] == state
    assert transitions(Action.COMPLETE) == counted


async def test_complete_campaigns_picks_the_accounted_ones(pool: asyncpg.Pool) -> None:
    ready = await _resolved(pool, State.SENDING, matched=0)
    waiting = await _resolved(pool, State.SENDING, matched=3)
    assert await complete_if_accounted(pool, [ready, waiting]) == [ready]
    assert await complete_if_accounted(pool, []) == []
