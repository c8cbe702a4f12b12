"""The webhook_ingest process: the FastAPI app, its lifespan, and `main()`.

`create_app` takes the SNS certificate fetcher and the subscription confirmer
as arguments so tests can serve certificates of their own CA; by default both
GET only URLs that passed the SNS host check (`providers/sns_http.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.webhook_ingest.api.routes import unsubscribe, webhooks
from services.webhook_ingest.config import Settings
from services.webhook_ingest.known_runs import KnownRuns
from services.webhook_ingest.providers.configured import ConfiguredWebhooks
from services.webhook_ingest.providers.registry import provider_table
from services.webhook_ingest.providers.sns_http import CertFetcher, SubscriptionConfirmer
from services.webhook_ingest.recorder import Recorder
from shared.db import GENERIC_INDEX_PROBES, check_postgres, open_pool
from shared.http.body_limit import BodyLimit
from shared.http.problems import install_problem_handlers
from shared.kafka.admin import check_kafka
from shared.kafka.producer import open_producer
from shared.service import Started, health_router, run_service
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
        async with AsyncExitStack() as stack:
            pool = await stack.enter_async_context(
                # every statement looks addresses up by key: index probes whatever size a
                # table had when a statement's generic plan was made, run from that plan
                # (shared.db.GENERIC_INDEX_PROBES)
                open_pool(
                    common.database_url,
                    max_size=settings.db_pool_size,
                    planner=GENERIC_INDEX_PROBES,
                )
            )
            producer = await stack.enter_async_context(
                open_producer(common, linger_ms=settings.kafka_linger_ms)
            )
            app.state.settings = settings
            app.state.recorder = Recorder(
                pool=pool,
                producer=producer,
                topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
                soft_bounce_threshold=settings.soft_bounce_threshold,
                send_timeout_s=settings.kafka_send_timeout_s,
                known_runs=KnownRuns() if settings.known_runs_filter else None,
            )
            yield

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
    table = partial(
        provider_table, cert_fetcher=cert_fetcher, confirm_subscription=confirm_subscription
    )
    providers = table(settings)
    if providers:  # with none listed, no webhook route at all (every provider path is 404)
        configured = ConfiguredWebhooks(settings, providers, table)
        app.include_router(webhooks.webhook_router(providers, configured))
    app.include_router(unsubscribe.router)

    async def postgres() -> None:
        await check_postgres(app.state.recorder.pool)

    async def kafka() -> None:
        await check_kafka(settings.common)

    checks = {"postgres": postgres, "kafka": kafka}
    app.include_router(health_router(checks, ops_token=settings.common.secret("ops_token")))
    return app


async def start(settings: Settings, _stack: AsyncExitStack) -> Started:
    """Check Kafka; the app's lifespan (entered before serving) opens Postgres and Kafka."""
    await check_kafka(settings.common)
    return Started(create_app(settings))


def main() -> None:
    """Entry point of `python -m services.webhook_ingest`."""
    run_service("webhook_ingest", Settings, start)
