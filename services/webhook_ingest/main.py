"""The webhook_ingest process: the FastAPI app, its lifespan, and `main()`.

`create_app` takes the SNS certificate fetcher and the subscription confirmer
as arguments so tests can serve certificates of their own CA; by default both
use one httpx client, and only ever on URLs that passed the SNS host check.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from services.webhook_ingest.api.deps import SubscriptionConfirmer
from services.webhook_ingest.api.routes import unsubscribe, webhooks
from services.webhook_ingest.config import Settings
from services.webhook_ingest.providers.base import ProviderUnavailable
from services.webhook_ingest.providers.mailgun import TokenLedger
from services.webhook_ingest.providers.sns import CertFetcher, CertificateCache, https_fetcher
from services.webhook_ingest.recorder import Recorder
from shared.db import check_postgres, create_pool
from shared.errors import DependencyUnavailable
from shared.kafka.admin import check_kafka
from shared.kafka.producer import make_producer
from shared.logging import configure_logging
from shared.service import health_router, install_stop_signals, serve
from shared.topics import Topic, topic_name


def https_confirmer(client: httpx.AsyncClient) -> SubscriptionConfirmer:
    """Confirm an SNS subscription by GETting its (already checked) SubscribeURL."""

    async def confirm(url: str) -> None:
        try:
            response = await client.get(url, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"SNS subscription confirmation failed: {exc!r}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"SNS confirmation answered {response.status_code}")

    return confirm


def create_app(
    settings: Settings,
    *,
    cert_fetcher: CertFetcher | None = None,
    confirm_subscription: SubscriptionConfirmer | None = None,
) -> FastAPI:
    """The app; Postgres, Kafka and the HTTP client are opened in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        common = settings.common
        pool = await create_pool(common.database_url, max_size=settings.db_pool_size)
        producer = make_producer(common)
        client = httpx.AsyncClient(timeout=10)
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
            app.state.certificates = CertificateCache(
                cert_fetcher or https_fetcher(client), settings.sns_cert_cache_size
            )
            app.state.confirm_subscription = confirm_subscription or https_confirmer(client)
            app.state.mailgun_tokens = TokenLedger(
                2 * settings.timestamp_tolerance_s, settings.mailgun_token_cache_size
            )
            yield
        finally:
            await producer.stop()
            await client.aclose()
            await pool.close()

    app = FastAPI(
        title="Fanout webhook ingest",
        description="Verified ESP webhooks and one-click unsubscribes into `email.events`.",
        lifespan=lifespan,
    )
    app.include_router(webhooks.router)
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
