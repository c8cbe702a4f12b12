"""A warm-up schedule holds a campaign at its day's allowance and continues it the next day.

The lead resolver runs in-process on a pinned wall clock (the simulated day), the sender as
a process against the simulator. Day 0 of the sending domain's ramp allows 100 emails:
the campaign of 250 sends 100, then waits, shown on the campaign (`held`, with the reason
and the time it continues) and not counted as stalled; the next simulated day allows 300,
and it completes with every lead sent once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from services.campaign_api.api.routes.campaigns import campaign_from
from services.campaign_api.domains.settings import DomainSettings
from services.campaign_api.domains.store import register_domain
from services.campaign_api.reputation.warmups import create_warmup
from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.resolver import Resolver, Step
from shared.kafka.producer import make_producer
from shared.reputation import next_day_starts, utc_day
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.clock import PinnedTime
from tests.domains import TEST_KEY_BITS
from tests.send_path import (
    StartService,
    assert_exactly_one_outcome,
    campaign,
    healthy,
    read_events,
    seed_campaign,
    wait_for,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]


async def steps_until_idle(resolver: Resolver, campaign_id: UUID, limit: int = 50) -> Step:
    """Step the campaign until a step is not progress; that step."""
    for _ in range(limit):
        step = await resolver.step(campaign_id)
        if step is not Step.PROGRESSED:
            return step
    raise AssertionError("the campaign kept progressing")


async def test_warmup_holds_a_campaign_at_its_allowance_and_continues_the_next_day(
    pool: asyncpg.Pool, settings: CommonSettings, start: StartService
) -> None:
    seeded = await seed_campaign(pool, matching=250)  # from news@acme.example
    domains = DomainSettings(dkim_key_bits=TEST_KEY_BITS)
    await register_domain(
        pool, seeded.account_id, "acme.example", domains, settings.secret("dkim_key_secret")
    )
    today = PinnedTime(datetime.now(UTC))
    async with pool.acquire() as conn:
        await create_warmup(
            conn,
            seeded.account_id,
            domain="acme.example",
            provider_config_id=None,
            starts_on=utc_day(today.now),
            daily_limits=[100, 300],
        )
    await healthy(start("sender"))
    producer = make_producer(settings)
    await producer.start()
    try:
        sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
        resolver = Resolver(ResolverSettings(common=settings), pool, producer, sends, wall=today)
        assert await steps_until_idle(resolver, seeded.campaign_id) is Step.WAITING
        held = await campaign(pool, seeded.campaign_id)
        assert (held["state"], held["enqueued"]) == ("resolving", 100)
        assert held["wait_until"] == next_day_starts(today.now)
        assert held["wait_reason"] == (
            f"warm-up allowance of sending domain acme.example (100 of 100) used up for "
            f"{utc_day(today.now)}"
        )
        shown = campaign_from(held)
        assert shown.held is not None and shown.held.until == held["wait_until"]
        assert await steps_until_idle(resolver, seeded.campaign_id) is Step.WAITING  # still
        used = await pool.fetchval(
            "SELECT sum(d.used) FROM warmup_days d JOIN warmups w ON w.id = d.warmup_id "
            "WHERE w.account_id = $1",
            seeded.account_id,
        )
        assert used == 100

        today.now += timedelta(days=1)  # the next (simulated) day: 300 allowed
        assert await steps_until_idle(resolver, seeded.campaign_id) is Step.DONE
        resumed = await campaign(pool, seeded.campaign_id)
        assert (resumed["enqueued"], resumed["wait_until"]) == (250, None)
        assert campaign_from(resumed).held is None
        # the sender completes it once every lead has its outcome
        row = await wait_for(pool, seeded.campaign_id, {"completed", "failed"}, timeout=60)
    finally:
        await producer.stop()
    assert row["sent"] == 250
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    assert_exactly_one_outcome(events, seeded)
