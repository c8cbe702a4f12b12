"""The guard's process: the consumer of `email.events` beside a health-only HTTP app (port 8707),
and an hourly purge of account-wide counts older than `account_hours_kept`.

Start-up opens Postgres and Kafka and checks the topic exists, failing fast with a clear
message (docs/deliverability.md).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from fastapi import FastAPI

from services.guard.config import Settings
from services.guard.consumer import GuardConsumer
from services.guard.counts import purge_hours
from shared.db import check_postgres, open_pool
from shared.kafka.admin import check_kafka, require_topic
from shared.kafka.producer import open_producer
from shared.periodic import stopped_within
from shared.retry import retryable
from shared.service import Started, Worker, health_router, run_service
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)
PURGE_EVERY_S = 3600.0


def create_app(settings: Settings, pool: asyncpg.Pool, consumer: GuardConsumer) -> FastAPI:
    """Health and metrics only: the guard serves no API of its own (its thresholds are
    campaign_api's `GET/PUT /guard`)."""
    app = FastAPI(title="Fanout guard")
    checks = {
        "postgres": lambda: check_postgres(pool),
        "kafka": lambda: check_kafka(settings.common),
        "consumer": consumer.check,
    }
    app.include_router(health_router(checks, ops_token=settings.common.secret("ops_token")))
    return app


def purge_worker(settings: Settings, pool: asyncpg.Pool) -> Worker:
    """Every hour, drop the account hours the 24-hour line no longer reads."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = datetime.now(UTC) - timedelta(hours=settings.account_hours_kept)
            try:
                log.info("guard.purged_hours", rows=await purge_hours(pool, before))
            except Exception as exc:
                if not retryable(exc):
                    raise
                log.warning("guard.purge_failed", error=repr(exc))
            await stopped_within(stop, PURGE_EVERY_S)

    return run


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres and Kafka; count and judge `email.events`."""
    common = settings.common
    pool = await stack.enter_async_context(
        open_pool(common.database_url, max_size=settings.db_pool_size)
    )
    await require_topic(common, topic_name(Topic.EMAIL_EVENTS, common.topic_prefix))
    producer = await stack.enter_async_context(open_producer(common))
    consumer = GuardConsumer(settings, pool, producer)
    workers = [consumer.run, purge_worker(settings, pool)]
    return Started(create_app(settings, pool, consumer), workers=workers)


def main() -> None:
    """`python -m services.guard`."""
    run_service("guard", Settings, start)
