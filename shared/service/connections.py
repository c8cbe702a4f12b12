"""The connections a worker service opens: Postgres, then Kafka (topics ensured), a producer.

Opened on the service's exit stack in that order, each failing fast with
`DependencyUnavailable`; closed in reverse when the service stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.db import check_postgres, open_pool
from shared.kafka.admin import check_kafka, ensure_topics
from shared.kafka.producer import open_producer
from shared.service.health import ReadinessCheck
from shared.settings import CommonSettings


@dataclass(frozen=True)
class Connections:
    """An open pool and a started producer."""

    common: CommonSettings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer

    def checks(self) -> dict[str, ReadinessCheck]:
        """Readiness: both dependencies answer."""
        return {
            "postgres": lambda: check_postgres(self.pool),
            "kafka": lambda: check_kafka(self.common),
        }


async def open_connections(
    stack: AsyncExitStack,
    common: CommonSettings,
    *,
    pool_size: int,
    planner: Mapping[str, str] | None = None,
) -> Connections:
    """Open Postgres and Kafka on `stack` (creating missing topics) for a worker service
    (`planner`: its sessions' planner settings, `shared.db.create_pool`)."""
    pool = await stack.enter_async_context(
        open_pool(common.database_url, max_size=pool_size, planner=planner)
    )
    await check_kafka(common)
    await ensure_topics(common)
    producer = await stack.enter_async_context(open_producer(common))
    return Connections(common, pool, producer)
