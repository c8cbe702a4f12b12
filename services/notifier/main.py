"""The notifier's process: tells customers' webhook endpoints what happened.

Three workers beside a health-only HTTP app (port 8706):

- the consumer of `email.events` (provider feedback → lead deliveries, counted);
- the drainer of `campaign_changes` (campaign moves → campaign deliveries);
- the dispatcher (due deliveries → signed POSTs, retries, disabling, retention).

Start-up opens Postgres and Kafka and checks the topic exists, failing fast with a
clear message (docs/webhooks-outbound.md).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import asyncpg
import httpx
from fastapi import FastAPI

from services.notifier.campaign_changes import drain_once
from services.notifier.config import Settings
from services.notifier.consumer import LeadEventsConsumer
from services.notifier.dispatcher import Dispatcher
from services.notifier.loops import repeat
from shared.campaigns.changes import CHANNEL as CAMPAIGN_STATE
from shared.db import check_postgres, open_pool
from shared.kafka.admin import check_kafka, require_topic
from shared.kafka.producer import open_producer
from shared.notifications import Wakeup
from shared.outbound.queue import DELIVERIES_CHANNEL
from shared.outbound.secrets import secret_box
from shared.outbound.signing import USER_AGENT
from shared.periodic import Every
from shared.service import Started, Worker, health_router, run_service
from shared.topics import Topic, topic_name

PURGE_EVERY_S = 3600.0


def create_app(settings: Settings, pool: asyncpg.Pool, consumer: LeadEventsConsumer) -> FastAPI:
    """Health and metrics only: the notifier serves no API of its own."""
    app = FastAPI(title="Fanout notifier")
    checks = {
        "postgres": lambda: check_postgres(pool),
        "kafka": lambda: check_kafka(settings.common),
        "consumer": consumer.check,
    }
    app.include_router(health_router(checks, ops_token=settings.common.secret("ops_token")))
    return app


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The client of every attempt: no redirects followed, no proxy from the environment."""
    return httpx.AsyncClient(
        timeout=settings.delivery.request_timeout_s,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
        limits=httpx.Limits(max_connections=settings.max_in_flight),
    )


def dispatch_worker(settings: Settings, dispatcher: Dispatcher) -> Worker:
    """The dispatcher's loop, with the hourly purge of old deliveries."""
    purge = Every(PURGE_EVERY_S)

    async def step() -> int:
        if purge.take():
            await dispatcher.purge()
        return await dispatcher.dispatch_once()

    queued = Wakeup(
        settings.common.database_url, [DELIVERIES_CHANNEL], application_name="fanout-dispatcher"
    )

    async def run(stop: asyncio.Event) -> None:
        await repeat(
            "dispatch", step, stop, queued, settings.poll_interval_s, dispatcher.next_due_in
        )

    return run


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres, Kafka and the HTTP client; run the three workers."""
    common = settings.common
    pool = await stack.enter_async_context(
        open_pool(common.database_url, max_size=settings.db_pool_size)
    )
    await require_topic(common, topic_name(Topic.EMAIL_EVENTS, common.topic_prefix))
    producer = await stack.enter_async_context(open_producer(common))
    client = await stack.enter_async_context(http_client(settings))
    consumer = LeadEventsConsumer(settings, pool, producer)
    dispatcher = Dispatcher(settings, pool, secret_box(common), client)

    moves = Wakeup(common.database_url, [CAMPAIGN_STATE], application_name="fanout-changes")

    async def changes(stop: asyncio.Event) -> None:
        await repeat("changes", lambda: drain_once(pool), stop, moves, settings.poll_interval_s)

    workers = [consumer.run, changes, dispatch_worker(settings, dispatcher)]
    return Started(create_app(settings, pool, consumer), workers=workers)


def main() -> None:
    """`python -m services.notifier`."""
    run_service("notifier", Settings, start)
