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
from shared.kafka.runner import Runner
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategy import Backoff
from shared.topics import Topic, topic_name

EVENTS_PER_RECORD_HINT = 50  # sizes the first poll before events per record are measured


class GuardConsumer:
    """Consumes `email.events` as the guard's group."""

    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        group = settings.consumer_group
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        self.step = GuardStep(pool, group, RecentIds(settings.recent_event_ids), clock)
        self._runner = Runner(
            common=settings.common,
            group=group,
            topics=[self.topic],
            strategy=lambda ctx: Batched(
                ctx,
                step=self.step,
                max_weight=settings.batch_max_events,
                max_seconds=settings.batch_max_seconds,
                backoff=Backoff(settings.retry_backoff_s, settings.max_retry_backoff_s),
                weight_hint=EVENTS_PER_RECORD_HINT,
            ),
            producer=producer,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the last batch is counted and committed then."""
        await self._runner.run(stop)

    async def check(self) -> str:
        """Readiness: the consumer is consuming (`Runner.check`)."""
        return await self._runner.check()
