"""The webhook_ingest process: the FastAPI app, its lifespan, and `main()`.

`create_app` takes the SNS certificate fetcher and the subscription confirmer
as arguments so tests can serve certificates of their own CA; by default both
GET only URLs that passed the SNS host check (`providers/sns_http.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka.errors import KafkaError
from fastapi import FastAPI

from services.webhook_ingest.api.routes import unsubscribe, webhooks
from services.webhook_ingest.config import Settings
from services.webhook_ingest.providers.registry import provider_table
from services.webhook_ingest.providers.sns_http import CertFetcher, SubscriptionConfirmer
from services.webhook_ingest.recorder import Recorder
from shared.db import check_postgres, create_pool
from shared.errors import DependencyUnavailable
from shared.http.body_limit import BodyLimit
from shared.http.problems import install_problem_handlers
from shared.kafka.admin import check_kafka
from shared.kafka.producer import make_producer
from shared.logging import configure_logging
from shared.service import health_router, install_stop_signals, serve
from shared.topics import Topic, topic_name


def create_app(
    settings: Settings,
    *,
    cert_fetcher: CertFetcher | None = None,
    confirm_subscription: SubscriptionConfirmer | None = None,
) -> FastAPI:
    """The app; Postgres and Kafka are opened in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        common = settings.common
        pool = await create_pool(common.database_url, max_size=settings.db_pool_size)
        producer = make_producer(common)
        try:
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                raise DependencyUnavailable(
                    f"Kafka at {common.kafka_bootstrap_servers} is unreachable ({exc!r})"
                ) from exc
            app.state.settings = settings
            app.state.recorder = Recorder(
                pool=pool,
                producer=producer,
                topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
                soft_bounce_threshold=settings.soft_bounce_threshold,
                send_timeout_s=settings.kafka_send_timeout_s,
            )
            yield
        finally:
            await producer.stop()
            await pool.close()

    app = FastAPI(
        title="Fanout webhook ingest",
        description="Verified ESP webhooks and one-click unsubscribes into `email.events`.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        paths={unsubscribe.router.prefix + "/": unsubscribe.FORM_LIMIT},
    )
    providers = provider_table(
        settings, cert_fetcher=cert_fetcher, confirm_subscription=confirm_subscription
    )
    app.include_router(webhooks.webhook_router(providers))
    app.include_router(unsubscribe.router)

    async def postgres() -> None:
        await check_postgres(app.state.recorder.pool)

    async def kafka() -> None:
        await check_kafka(settings.common)

    app.include_router(health_router({"postgres": postgres, "kafka": kafka}))
    return app


async def preflight(settings: Settings) -> None:
    """Fail fast, before serving, when Postgres or Kafka is unreachable."""
    pool = await create_pool(settings.common.database_url, max_size=1)
    await pool.close()
    await check_kafka(settings.common)


async def run(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT."""
    await preflight(settings)
    stop = asyncio.Event()
    install_stop_signals(stop)
    await serve(create_app(settings), host=settings.host, port=settings.port, workers=[], stop=stop)


def main() -> None:
    """Entry point of `python -m services.webhook_ingest`."""
    settings = Settings()
    configure_logging("webhook_ingest", settings.common.log_level)
    try:
        asyncio.run(run(settings))
    except DependencyUnavailable as exc:
        raise SystemExit(f"webhook_ingest cannot start: {exc}") from None
