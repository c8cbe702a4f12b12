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
    assert (await specs.get(seeded.campaign_id)).halt == ""  # still the cached spec
    assert (await specs.get(seeded.campaign_id, fresh=True)).halt == "campaign cancelled"
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


class HeldPool:
    """A pool whose reads wait until `release` is set (a load caught mid-flight)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.release = asyncio.Event()

    async def fetchrow(self, *args: object) -> object:
        await self.release.wait()
        return await self._pool.fetchrow(*args)


async def test_invalidate_spec_reloads_it_at_once(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=0)
    specs = SpecCache(pool, ttl_s=1.0, timer=Clock())
    assert (await specs.get(seeded.campaign_id)).halt == ""
    await pool.execute("UPDATE campaigns SET state = 'paused' WHERE id = $1", seeded.campaign_id)
    assert (await specs.get(seeded.campaign_id)).halt == ""  # cached, the clock has not moved
    specs.invalidate(seeded.campaign_id)
    assert (await specs.get(seeded.campaign_id)).halt == "campaign paused"
    await pool.execute("UPDATE campaigns SET state = 'cancelled' WHERE id = $1", seeded.campaign_id)
    specs.invalidate_all()
    assert (await specs.get(seeded.campaign_id)).halt == "campaign cancelled"


async def test_load_begun_before_an_invalidation_is_not_cached(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=0)
    held = HeldPool(pool)
    specs = SpecCache(held, ttl_s=1.0, timer=Clock())
    early = asyncio.create_task(specs.get(seeded.campaign_id))
    await asyncio.sleep(0)  # the load is waiting for its row
    specs.invalidate(seeded.campaign_id)  # e.g. a pause committed meanwhile
    await pool.execute("UPDATE campaigns SET state = 'paused' WHERE id = $1", seeded.campaign_id)
    later = asyncio.create_task(specs.get(seeded.campaign_id))  # a fresh load, not the early one
    held.release.set()
    assert (await later).halt == "campaign paused"
    assert (await specs.get(seeded.campaign_id)).halt == "campaign paused"
    await early


@pytest.mark.parametrize(
    ("state", "halt"),
    [
        (State.SENDING, ""),
        (State.RESOLVING, ""),
        (State.COMPLETED, ""),
        (State.PAUSED, "campaign paused"),
        (State.SCHEDULED, "campaign scheduled"),
        (State.CANCELLED, "campaign cancelled"),
    ],
)
async def test_halt_of_spec_by_state(pool: asyncpg.Pool, state: State, halt: str) -> None:
    seeded = await seed_campaign(pool, matching=0)
    await pool.execute("UPDATE campaigns SET state = $2 WHERE id = $1", seeded.campaign_id, state)
    assert (await SpecCache(pool, ttl_s=1.0).get(seeded.campaign_id)).halt == halt
