"""Waiting on the provider: gauges at once, a lease on the campaign row at each flush."""

from __future__ import annotations

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.sender.waiting import ProviderWaits, Wait
from tests.send_path import campaign, seed_campaign

pytestmark = pytest.mark.postgres


def waiting_batches() -> float:
    labels = {"provider": "simulator"}
    return REGISTRY.get_sample_value("fanout_send_batches_waiting_on_provider", labels) or 0.0


async def test_flush_renews_the_wait_lease_of_waiting_campaigns(pool: asyncpg.Pool) -> None:
    seeded, other = await seed_campaign(pool, matching=0), await seed_campaign(pool, matching=0)
    waits = ProviderWaits()
    one, two = object(), object()
    waits.start(one, Wait(seeded.campaign_id, "simulator", "HTTP 429: throttled"))
    waits.start(two, Wait(seeded.campaign_id, "simulator", "transient_error"))
    assert waiting_batches() == 2
    await waits.flush(pool)
    first = await campaign(pool, seeded.campaign_id)
    assert first["provider_wait_reason"] in {"HTTP 429: throttled", "transient_error"}
    assert first["provider_wait_until"] > first["provider_wait_since"]
    assert (await campaign(pool, other.campaign_id))["provider_wait_until"] is None
    await waits.flush(pool)
    again = await campaign(pool, seeded.campaign_id)
    assert again["provider_wait_since"] == first["provider_wait_since"]  # one unbroken wait
    assert again["provider_wait_until"] >= first["provider_wait_until"]
    waits.end(one)
    waits.end(two)
    assert waiting_batches() == 0 and waits.campaigns() == {}
    await waits.flush(pool)  # nothing to renew: the lease lapses by itself
    assert (await campaign(pool, seeded.campaign_id))["provider_wait_until"] == again[
        "provider_wait_until"
    ]
