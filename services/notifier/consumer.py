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
from shared.kafka.strategies.batched_runner import batched_runner
from shared.topics import Topic, topic_name


class LeadEventsConsumer:
    """Consumes `email.events` as the notifier's group."""

    def __init__(self, settings: Settings, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> None:
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        step = LeadEventsStep(pool, settings.consumer_group, settings.events_per_delivery)
        self._runner = batched_runner(settings, [self.topic], step, producer)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the last batch is applied and committed then."""
        await self._runner.run(stop)

    async def check(self) -> str:
        """Readiness: the consumer is consuming (`Runner.check`)."""
        return await self._runner.check()
