"""The resolver and time: its sweep runs on time right after boot, and a campaign's audience
is read as of its launch however long resolving takes."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.ownership import campaign_partition
from services.lead_resolver.resolver import Resolver
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests import factories
from tests.clock import BootClock

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
PARTITIONS = 4096  # owning one of many keeps other tests' campaigns out of this resolver


def _resolver(
    settings: CommonSettings, pool: asyncpg.Pool, producer: AIOKafkaProducer, clock: BootClock
) -> Resolver:
    knobs = ResolverSettings(common=settings, sweep_interval_s=5.0, idle_sleep_s=0.02)
    topic = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
    return Resolver(knobs, pool, producer, topic, clock=clock)


async def _state(pool: asyncpg.Pool, campaign_id: object) -> str:
    state: str = await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", campaign_id)
    return state


async def _reads_past(clock: BootClock, reads: int) -> None:
    target = clock.reads + reads
    while clock.reads < target:
        await asyncio.sleep(0.01)


async def test_sweep_finds_lost_campaign_on_time_on_fresh_boot(
    settings: CommonSettings, pool: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    account = await factories.account(pool)
    campaign_id = await factories.campaign(pool, account.id)
    clock = BootClock(0.5)
    resolver = _resolver(settings, pool, producer, clock)
    await resolver.own({campaign_partition(campaign_id, PARTITIONS)}, PARTITIONS)
    stop = asyncio.Event()
    loop = asyncio.create_task(resolver.run(stop))
    try:
        # launched, but the command never reached the resolver: only a sweep finds it
        await factories.launch(pool, account.id, campaign_id, "lost.launches")
        await _reads_past(clock, 20)
        assert await _state(pool, campaign_id) == "queued"
        clock.advance(5.0)
        async with asyncio.timeout(30):
            while await _state(pool, campaign_id) == "queued":
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert await _state(pool, campaign_id) in ("resolving", "sending", "completed")


async def test_relative_condition_is_read_as_of_launch(
    settings: CommonSettings, pool: asyncpg.Pool, producer: AIOKafkaProducer
) -> None:
    account = await factories.account(pool)
    earlier = await factories.lead(pool, account.id)
    for _ in range(2):
        await factories.lead(pool, account.id)  # created now, after the (backdated) launch
    within_a_day = {"field": "created_at", "op": "within_last", "value": {"days": 1}}
    campaign_id = await factories.campaign(pool, account.id, condition=within_a_day)
    await factories.launch(pool, account.id, campaign_id, "unused.launches")
    # a launch three days ago and a lead made half a day before it: no API backdates
    await pool.execute(
        "UPDATE campaigns SET launched_at = now() - interval '3 days' WHERE id = $1", campaign_id
    )
    await pool.execute(
        "UPDATE leads SET created_at = now() - interval '3 days 12 hours' WHERE id = $1", earlier
    )
    resolver = _resolver(settings, pool, producer, BootClock())
    for _ in range(4):
        await resolver.step(campaign_id)
    matched = await pool.fetchval("SELECT matched FROM campaigns WHERE id = $1", campaign_id)
    assert matched == 1
