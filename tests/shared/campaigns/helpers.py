"""Campaign rows in a chosen state, and the transition counter, for the writer's tests."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import REGISTRY

from shared.campaigns import Action, State
from tests.send_path import seed_campaign


async def campaign_in(pool: asyncpg.Pool, state: State) -> tuple[UUID, UUID]:
    """A campaign (id, run id) put in `state` directly, as a test set-up (no move counted)."""
    seeded = await seed_campaign(pool, matching=0)
    await pool.execute(
        "UPDATE campaigns SET state = $2 WHERE id = $1", seeded.campaign_id, state.value
    )
    return seeded.campaign_id, seeded.run_id


async def row(pool: asyncpg.Pool, campaign_id: UUID) -> dict[str, Any]:
    """The campaign's row."""
    found = await pool.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign_id)
    assert found is not None
    return dict(found)


def transitions(action: Action) -> float:
    """`fanout_campaign_transitions_total` for `action` so far in this process."""
    labels = {"action": action.value}
    return REGISTRY.get_sample_value("fanout_campaign_transitions_total", labels) or 0.0
