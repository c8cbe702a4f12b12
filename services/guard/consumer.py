"""The guard's consumer of `email.events`: a batched strategy on the shared runner, in a group
of its own (its lag never holds back the reports or the notifier)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaProducer

from services.guard.config import Settings
from services.guard.recent import RecentIds
from services.guard.step import GuardStep, utc_now
from shared.kafka.strategies.batched_runner import batched_runner
from shared.topics import Topic, topic_name


class GuardConsumer:
    """Consumes `email.events` as the guard's group."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        self.step = GuardStep(
            pool, settings.consumer_group, RecentIds(settings.recent_event_ids), clock
        )
        self._runner = batched_runner(settings, [self.topic], self.step, producer)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the last batch is counted and committed then."""
        await self._runner.run(stop)

    async def check(self) -> str:
        """Readiness: the consumer is consuming (`Runner.check`)."""
        return await self._runner.check()
