"""A provider that stops all sending pauses the campaign; resume re-emits the parked recipients."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from services.lead_resolver.config import Settings as ResolverSettings
from services.lead_resolver.resolver import Resolver
from services.sender.accounting import Accounting
from services.sender.campaigns import SpecCache
from services.sender.config import Settings as SenderSettings
from services.sender.delivery import RetryPolicy
from services.sender.pipeline import SendPipeline
from services.sender.providers.base import (
    Outcome,
    ProviderStopped,
    RecipientResult,
    SendRequest,
)
from services.sender.providers.registry import ProviderPool
from services.sender.rate import SendRate
from services.sender.render import LinkSigner
from shared.contracts import Recipient, SendBatch
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.send_path import campaign, read_events, read_sends, seed_campaign

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
    pool: asyncpg.Pool, settings: CommonSettings
) -> None:
    seeded = await seed_campaign(pool, matching=50)
    leads = await pool.fetch(
        "SELECT id, email FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id",
        list(seeded.matching),
    )
    # as if the resolver had emitted every lead as batch 0
    await pool.execute(
        "UPDATE campaigns SET state = 'sending', resolve_done = true, matched = 50, "
        "enqueued = 50, batches_emitted = 1, checkpoint_lead_id = $2 WHERE id = $1",
        seeded.campaign_id,
        leads[-1]["id"],
    )
    first = SendBatch(
        campaign_id=seeded.campaign_id,
        account_id=seeded.account_id,
        run_id=seeded.run_id,
        batch_no=0,
        recipients=[
            Recipient(
                lead_id=r["id"], email=r["email"], merge_vars={"first_name": "Ada", "country": "DE"}
            )
            for r in leads
        ],
    )
    producer = make_producer(settings)
    await producer.start()
    provider = QuotaProvider()
    providers = ProviderPool(SenderSettings())
    providers.register("simulator", provider, SendRate(0))
    accounting = Accounting(pool)
    pipeline = SendPipeline(
        pool=pool,
        producer=producer,
        events_topic=topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix),
        specs=SpecCache(pool, ttl_s=0.0),
        providers=providers,
        accounting=accounting,
        signer=LinkSigner("secret", "https://unsub.example"),
        domain="fanout.test",
        policy=RetryPolicy(max_attempts=5, initial_s=0.01, max_s=0.02, jitter_s=0.0),
    )
    try:
        assert await pipeline.process(first) == ""
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
        assert await pipeline.process(first) == ""  # redelivered: nothing parked twice
        assert await pool.fetchval("SELECT count(*) FROM send_batch_deferrals") == 1

        # resume: the resolver re-emits the parked recipients as a new batch
        await pool.execute(
            "UPDATE campaigns SET state = 'queued', run_id = $2 WHERE id = $1",
            seeded.campaign_id,
            uuid.uuid4(),
        )
        resolver = Resolver(
            ResolverSettings(common=settings),
            pool,
            producer,
            topic_name(Topic.EMAIL_SENDS, settings.topic_prefix),
        )
        for _ in range(3):
            await resolver.step(seeded.campaign_id)
        resumed = await campaign(pool, seeded.campaign_id)
        assert (resumed["state"], resumed["batches_emitted"]) == ("sending", 2)
        assert await pool.fetchval("SELECT count(*) FROM send_batch_deferrals") == 0
        [again] = await read_sends(settings)
        assert again.batch_no == 1 and len(again.recipients) == 40

        provider.healthy = True
        assert await pipeline.process(again) == ""
        await accounting.flush()
        done = await campaign(pool, seeded.campaign_id)
        assert (done["state"], done["sent"]) == ("completed", 50)
        events = [e for e in await read_events(settings) if e.campaign_id == seeded.campaign_id]
        assert {e.lead_id for e in events} == seeded.matching
        assert len({e.event_id for e in events}) == 50
    finally:
        await producer.stop()
