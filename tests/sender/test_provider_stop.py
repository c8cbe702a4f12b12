"""A provider that stops all sending pauses the campaign; resume re-emits the parked recipients."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.lead_resolver.resolver import Resolver
from services.sender.providers.base import (
    Outcome,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from shared.settings import CommonSettings
from tests.send_path import campaign, read_events, read_sends, seed_campaign
from tests.sender.harness import harness, resolved_batches

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class QuotaProvider:
    """Accepts 10 emails of the first call, then refuses everything until `healthy`."""

    name = "simulator"

    def __init__(self) -> None:
        self.calls = 0
        self.healthy = False

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        self.calls += 1
        if not self.healthy and self.calls > 1:
            raise ProviderStopped("daily sending quota exhausted")
        return [
            RecipientResult(
                e.lead_id,
                Outcome.ACCEPTED if self.healthy or i < 10 else Outcome.RETRY,
                provider_message_id=f"p-{e.lead_id}",
            )
            for i, e in enumerate(request.emails)
        ]

    async def max_send_rate(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None


async def test_provider_stop_parks_batch_pauses_campaign_and_resume_finishes(
    pool: asyncpg.Pool, settings: CommonSettings, resolver: Resolver
) -> None:
    seeded = await seed_campaign(pool, matching=50)
    [first] = await resolved_batches(pool, seeded)  # as if the resolver had emitted batch 0
    provider = QuotaProvider()
    async with harness(pool, settings, provider, spec_ttl_s=0.0) as h:
        assert await h.pipeline.process(first) == ""
        await h.accounting.flush()
        paused = await campaign(pool, seeded.campaign_id)
        assert paused["state"] == "paused"
        assert "quota" in paused["state_reason"]
        assert paused["sent"] == 10
        parked = await pool.fetchval(
            "SELECT jsonb_array_length(recipients) FROM send_batch_deferrals "
            "WHERE campaign_id = $1 AND batch_no = 0",
            seeded.campaign_id,
        )
        assert parked == 40
        assert await h.pipeline.process(first) == ""  # redelivered: nothing parked twice
        parked_batches = "SELECT count(*) FROM send_batch_deferrals WHERE campaign_id = $1"
        assert await pool.fetchval(parked_batches, seeded.campaign_id) == 1

        # resume: the resolver re-emits the parked recipients as a new batch
        await pool.execute(
            "UPDATE campaigns SET state = 'queued', run_id = $2 WHERE id = $1",
            seeded.campaign_id,
            uuid.uuid4(),
        )
        for _ in range(3):
            await resolver.step(seeded.campaign_id)
        resumed = await campaign(pool, seeded.campaign_id)
        assert (resumed["state"], resumed["batches_emitted"]) == ("sending", 2)
        assert await pool.fetchval(parked_batches, seeded.campaign_id) == 0
        [again] = await read_sends(settings)
        assert again.batch_no == 1 and len(again.recipients) == 40

        provider.healthy = True
        assert await h.pipeline.process(again) == ""
        await h.accounting.flush()
    done = await campaign(pool, seeded.campaign_id)
    assert (done["state"], done["sent"]) == ("completed", 50)
    events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
    assert {e.lead_id for e in events} == seeded.matching
    assert len({e.event_id for e in events}) == 50
