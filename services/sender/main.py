"""`python -m services.sender`: consume `email.sends`, send through the ESPs, emit outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI

from services.sender.accounting import Accounting
from services.sender.campaigns import SpecCache
from services.sender.config import Settings
from services.sender.consumer import SenderLoop
from services.sender.delivery import RetryPolicy
from services.sender.pipeline import SendPipeline
from services.sender.providers.registry import ProviderPool
from services.sender.render import LinkSigner
from shared.db import check_postgres, create_pool
from shared.kafka.admin import check_kafka, ensure_topics
from shared.kafka.producer import make_producer
from shared.logging import configure_logging
from shared.service import health_router, install_stop_signals, serve
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry settings as the delivery step takes them."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        jitter_s=settings.retry_jitter_s,
    )


async def run(settings: Settings) -> None:
    """Check dependencies, then serve health endpoints beside the consumer."""
    common = settings.common
    await check_kafka(common)
    await ensure_topics(common)
    pool = await create_pool(common.database_url, max_size=10)
    producer = make_producer(common)
    await producer.start()
    providers = ProviderPool(settings)
    accounting = Accounting(pool)
    pipeline = SendPipeline(
        pool=pool,
        producer=producer,
        events_topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
        specs=SpecCache(pool, settings.spec_ttl_s),
        providers=providers,
        accounting=accounting,
        signer=LinkSigner(common.signing_secret.get_secret_value(), common.public_base_url),
        domain=settings.message_id_domain,
        policy=retry_policy(settings),
    )
    sends = topic_name(Topic.EMAIL_SENDS, common.topic_prefix)
    loop = SenderLoop(settings, sends, pipeline, accounting, providers)
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "postgres": lambda: check_postgres(pool),
        "kafka": lambda: check_kafka(common),
    }
    app = FastAPI(title="Fanout sender")
    app.include_router(health_router(checks))
    stop = asyncio.Event()
    install_stop_signals(stop)
    try:
        await serve(app, host=settings.host, port=settings.port, workers=[loop.run], stop=stop)
    finally:
        await producer.stop()
        await providers.aclose()
        await pool.close()


def main() -> None:
    """Entry point of `python -m services.sender`."""
    settings = Settings()
    configure_logging("sender", settings.common.log_level)
    asyncio.run(run(settings))
