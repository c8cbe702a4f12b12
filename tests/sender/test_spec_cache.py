"""The sender's campaign spec cache on real Postgres, with a pinned clock for its TTL."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from services.sender.campaigns import SpecCache, UnknownCampaign
from services.sender.config import Settings
from shared.campaigns import State
from tests.send_path import seed_campaign

pytestmark = pytest.mark.postgres


class Clock:
    """Monotonic seconds that move only when the test says so (near zero, as after a boot)."""

    def __init__(self) -> None:
        self.now = 0.5

    def __call__(self) -> float:
        return self.now


async def test_get_spec_is_cached_for_the_ttl(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=0)
    clock = Clock()
    specs = SpecCache(pool, ttl_s=1.0, timer=clock)
    assert (await specs.get(seeded.campaign_id)).state is State.QUEUED
    await pool.execute("UPDATE campaigns SET state = 'cancelled' WHERE id = $1", seeded.campaign_id)
    clock.now += 0.9
    assert not (await specs.get(seeded.campaign_id)).cancelled  # still the cached spec
    assert (await specs.get(seeded.campaign_id, fresh=True)).cancelled
    await pool.execute("UPDATE campaigns SET state = 'queued' WHERE id = $1", seeded.campaign_id)
    clock.now += 1.0
    assert (await specs.get(seeded.campaign_id)).state is State.QUEUED


async def test_get_spec_loads_once_for_concurrent_batches(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=0)
    specs = SpecCache(pool, ttl_s=0.0)  # nothing kept: only the shared load can make them equal
    first, second = await asyncio.gather(*(specs.get(seeded.campaign_id) for _ in range(2)))
    assert first is second
    assert await specs.get(seeded.campaign_id) is not first


async def test_compiled_templates_are_bounded_least_recent_first(pool: asyncpg.Pool) -> None:
    one, two = [await seed_campaign(pool, matching=0) for _ in range(2)]
    specs = SpecCache(pool, ttl_s=0.0, max_templates=1)
    template = (await specs.get(one.campaign_id)).template
    assert template is not None
    assert (await specs.get(one.campaign_id)).template is template  # compiled once, reused
    await specs.get(two.campaign_id)  # the only slot goes to the other template
    assert (await specs.get(one.campaign_id)).template is not template


async def test_get_spec_of_unknown_campaign_raises(pool: asyncpg.Pool) -> None:
    specs = SpecCache.from_settings(pool, Settings())
    with pytest.raises(UnknownCampaign):
        await specs.get(uuid4())
