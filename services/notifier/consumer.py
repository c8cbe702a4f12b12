"""The notifier's consumer of `email.events`: a batched strategy on the shared runner.

Batches of provider feedback are applied by `LeadEventsStep` (counted for campaign
summaries, turned into deliveries) in one transaction each; the runner commits the
offsets after that. A batch read twice is applied once (`shared.kafka.applied`).
"""

from __future__ import annotations

import asyncio

import asyncpg
from aiokafka import AIOKafkaProducer

from services.notifier.config import Settings
from services.notifier.lead_events import LeadEventsStep
from shared.kafka.runner import Runner
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategy import Backoff
from shared.topics import Topic, topic_name

EVENTS_PER_RECORD_HINT = 50  # sizes the first poll before events per record are measured


class LeadEventsConsumer:
    """Consumes `email.events` as the notifier's group."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        group = settings.consumer_group
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        step = LeadEventsStep(pool, group, settings.events_per_delivery)
        self._runner = Runner(
            common=settings.common,
            group=group,
            topics=[self.topic],
            strategy=lambda ctx: Batched(
                ctx,
                step=step,
                max_weight=settings.batch_max_events,
                max_seconds=settings.batch_max_seconds,
                backoff=Backoff(settings.retry_backoff_s, settings.max_retry_backoff_s),
                weight_hint=EVENTS_PER_RECORD_HINT,
            ),
            producer=producer,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the last batch is applied and committed then."""
        await self._runner.run(stop)

    async def check(self) -> str:
        """Readiness: the consumer is consuming (`Runner.check`)."""
        return await self._runner.check()
