"""The resolver's steps on real Postgres and Kafka, and the state moves each one makes.

Every move goes through `shared.campaigns` and is counted there; a campaign the
API paused meanwhile is left as it is.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest

from services.lead_resolver.resolver import Resolver, Step
from shared.campaigns import Action, State
from tests.send_path import campaign, counted_batch, seed_campaign, set_template_part
from tests.shared.campaigns.helpers import transitions

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

WORKER_MOVES = (Action.RESOLVE, Action.SEND, Action.COMPLETE, Action.FAIL)


def _counts() -> dict[Action, float]:
    return {action: transitions(action) for action in WORKER_MOVES}


def _moved(before: dict[Action, float], *actions: Action) -> dict[Action, float]:
    """`before` plus one move of each of `actions`."""
    return {a: before[a] + actions.count(a) for a in before}


async def _force(
    pool: asyncpg.Pool,
    campaign_id: UUID,
    state: State,
    *,
    resolve_done: bool | None = None,
    matched: int | None = None,
    condition: str | None = None,
) -> None:
    """Put the campaign where a test starts (set-up, not a move under test)."""
    await pool.execute(
        "UPDATE campaigns SET state = $2, resolve_done = coalesce($3, resolve_done), "
        "matched = coalesce($4, matched), condition = coalesce($5::jsonb, condition) "
        "WHERE id = $1",
        campaign_id,
        state.value,
        resolve_done,
        matched,
        condition,
    )


async def test_resolve_campaign_from_queued_to_completed(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=60, non_matching=5)
    cid, before = seeded.campaign_id, _counts()
    assert await resolver.step(cid) is Step.PROGRESSED
    assert (await campaign(pool, cid))["state"] == State.RESOLVING
    assert await resolver.step(cid) is Step.DONE  # one page: every lead, then finished
    resolved = await campaign(pool, cid)
    assert (resolved["state"], resolved["resolve_done"]) == (State.SENDING, True)
    assert (resolved["matched"], resolved["batches_emitted"]) == (60, 2)
    for batch_no, sent in ((0, 50), (1, 10)):  # what the sender records and counts
        await counted_batch(pool, cid, batch_no, sent=sent)
    assert await resolver.step(cid) is Step.DONE
    assert (await campaign(pool, cid))["state"] == State.COMPLETED
    assert _counts() == _moved(before, Action.RESOLVE, Action.SEND, Action.COMPLETE)


async def test_resolve_campaign_with_broken_template_fails_with_reason(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=3)
    await set_template_part(pool, seeded.campaign_id, "subject", "Hi {{ first_name")
    before = _counts()
    assert await resolver.step(seeded.campaign_id) is Step.DONE
    failed = await campaign(pool, seeded.campaign_id)
    assert failed["state"] == State.FAILED
    assert failed["state_reason"].startswith("template: ")
    assert _counts() == _moved(before, Action.FAIL)


async def test_resolve_campaign_with_bad_condition_fails_with_reason(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=3)
    await _force(pool, seeded.campaign_id, State.RESOLVING, condition='{"op": "nope"}')
    assert await resolver.step(seeded.campaign_id) is Step.DONE
    failed = await campaign(pool, seeded.campaign_id)
    assert failed["state"] == State.FAILED
    assert failed["state_reason"].startswith("condition: ")


async def test_resolve_paused_campaign_changes_nothing(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=3)
    await _force(pool, seeded.campaign_id, State.PAUSED)
    before, row = _counts(), await campaign(pool, seeded.campaign_id)
    assert await resolver.step(seeded.campaign_id) is Step.DONE
    assert await campaign(pool, seeded.campaign_id) == row
    assert _counts() == before


async def test_resolve_campaign_cancelled_before_any_lead_matches_nothing(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=3)
    await _force(pool, seeded.campaign_id, State.CANCELLED)
    before = _counts()
    assert await resolver.step(seeded.campaign_id) is Step.PROGRESSED
    assert await resolver.step(seeded.campaign_id) is Step.DONE
    row = await campaign(pool, seeded.campaign_id)
    assert (row["state"], row["resolve_done"], row["matched"]) == (State.CANCELLED, True, 0)
    assert _counts() == before


async def test_resolve_campaign_resumed_after_every_lead_was_emitted_completes(
    pool: asyncpg.Pool, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=3)
    await _force(pool, seeded.campaign_id, State.RESOLVING, resolve_done=True, matched=0)
    before = _counts()
    assert await resolver.step(seeded.campaign_id) is Step.DONE
    assert (await campaign(pool, seeded.campaign_id))["state"] == State.COMPLETED
    assert _counts() == _moved(before, Action.SEND, Action.COMPLETE)
