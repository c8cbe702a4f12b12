"""`python -m services.lead_resolver`: stream launched campaigns onto `email.sends`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import TopicPartition
from fastapi import FastAPI

from services.lead_resolver.commands import CommandHandler
from services.lead_resolver.config import Settings
from services.lead_resolver.resolver import Resolver
from shared.contracts import CampaignCommand
from shared.db import check_postgres, create_pool
from shared.kafka.admin import check_kafka, ensure_topics
from shared.kafka.consumer import ConsumerLoop, LoopOptions
from shared.kafka.producer import make_producer
from shared.logging import configure_logging
from shared.service import health_router, install_stop_signals, serve
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


async def run(settings: Settings) -> None:
    """Check dependencies, then run the command consumer and the scheduler beside /healthz."""
    common = settings.common
    await check_kafka(common)
    await ensure_topics(common)
    pool = await create_pool(common.database_url, max_size=5)
    producer = make_producer(common)
    await producer.start()
    launches = topic_name(Topic.CAMPAIGN_LAUNCHES, common.topic_prefix)
    resolver = Resolver(
        settings, pool, producer, topic_name(Topic.EMAIL_SENDS, common.topic_prefix)
    )

    async def on_assign(assigned: set[TopicPartition]) -> None:
        total = len(await producer.partitions_for(launches))
        await resolver.own({tp.partition for tp in assigned}, total)
        log.info("resolver.owns", partitions=sorted(tp.partition for tp in assigned), total=total)

    async def on_revoke(revoked: set[TopicPartition]) -> None:
        await resolver.disown({tp.partition for tp in revoked})

    commands = ConsumerLoop(
        common=common,
        topics=[launches],
        group_id=settings.consumer_group,
        model=CampaignCommand,
        handle=CommandHandler(resolver),
        producer=producer,
        on_assign=on_assign,
        on_revoke=on_revoke,
        options=LoopOptions(session_timeout_ms=settings.session_timeout_ms),
    )
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "postgres": lambda: check_postgres(pool),
        "kafka": lambda: check_kafka(common),
    }
    app = FastAPI(title="Fanout lead resolver")
    app.include_router(health_router(checks))
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        await serve(
            app,
            host=settings.host,
            port=settings.port,
            workers=[commands.run, resolver.run],
            stop=stop,
        )
    finally:
        await producer.stop()
        await pool.close()


def main() -> None:
    """Entry point of `python -m services.lead_resolver`."""
    settings = Settings()
    configure_logging("lead_resolver", settings.common.log_level)
    asyncio.run(run(settings))
