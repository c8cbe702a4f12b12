"""The campaign API app and its process: HTTP plus the outbox relay and the scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial

import asyncpg
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from services.campaign_api.api.errors import install_error_handlers
from services.campaign_api.api.json_bodies import require_json_body
from services.campaign_api.api.routes import (
    api_keys,
    campaigns,
    domains,
    guard,
    lead_import,
    leads,
    providers,
    segments,
    suppressions,
    templates,
    warmups,
    webhook_deliveries,
    webhook_endpoints,
)
from services.campaign_api.campaigns.consumer_groups import ConsumerGroups
from services.campaign_api.campaigns.relay import OutboxRelay, RelayPacing
from services.campaign_api.campaigns.scheduler import run_scheduler
from services.campaign_api.campaigns.stalls import (
    Stages,
    Stalls,
    WallClock,
    utc_now,
    watch_stalls,
)
from services.campaign_api.config import Settings
from services.campaign_api.dashboard.app import create_dashboard, open_dashboard
from services.campaign_api.dashboard.web import PREFIX as DASHBOARD_PREFIX
from services.campaign_api.idempotency.middleware import IdempotencyKeys
from services.campaign_api.idempotency.openapi import declare_idempotency
from services.campaign_api.idempotency.purge import purge_every, run_purge
from services.campaign_api.providers.edits import reseal_stale
from services.campaign_api.rendering import TemplateWorker
from shared.campaigns.changes import CHANNEL as CAMPAIGN_STATE
from shared.db import check_postgres, open_pool
from shared.http.body_limit import BodyLimit
from shared.http.openapi import install_openapi
from shared.http.problems import install_problem_handlers
from shared.http.rate_limits import install_rate_limits
from shared.kafka.admin import check_kafka
from shared.notifications import Wakeup
from shared.outbound.secrets import secret_box
from shared.provider_configs.records import sealer
from shared.service import Started, health_router, run_service
from shared.topics import Topic, topic_name

DESCRIPTION = """
Leads, segments, templates, campaigns, suppressions, sending domains, provider
configurations, the guard's thresholds and warm-up schedules of Fanout.
Every endpoint except the operations ones needs `Authorization: Bearer <API key>`
(make an account and its first key with `fanout account create --name NAME`).
Objects of another account answer 404, exactly like missing ones.
"""
IMPORT_PATH = "/leads/import"
DASHBOARD_IMPORT_PATH = f"{DASHBOARD_PREFIX}{IMPORT_PATH}"


def operation_id(route: APIRoute) -> str:
    """A route's OpenAPI operationId: its function's name (`launch_campaign`), which the
    generated client (clients/python) uses for its functions."""
    return route.name


def stalls_of(settings: Settings, clock: WallClock) -> Stalls:
    """The stalled-campaign finder of `settings`, judging at `clock`'s time."""
    prefix = settings.common.topic_prefix
    stages = Stages.named(prefix, settings.lead_resolver_group_id, settings.sender_group_id)
    groups = ConsumerGroups(
        settings.common,
        ttl_s=settings.group_look_ttl_seconds,
        timeout_s=settings.group_look_timeout_seconds,
    )
    return Stalls(stages, groups, timedelta(seconds=settings.stalled_after_seconds), clock)


def create_app(
    settings: Settings, pool: asyncpg.Pool | None = None, clock: WallClock = utc_now
) -> FastAPI:
    """The FastAPI app. Without `pool`, its lifespan opens (and closes) one. `clock` is
    the time stalls are judged at (tests pin it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(app.state.template_worker.close)
            app.state.pool = pool or await stack.enter_async_context(
                open_pool(settings.common.database_url, max_size=settings.db_pool_size)
            )
            app.state.settings = settings
            app.state.sessions = await stack.enter_async_context(
                open_dashboard(dashboard, app, app.state.pool, settings, clock)
            )
            yield

    app = FastAPI(
        title="Fanout campaign API",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(require_json_body)],
    )
    app.state.template_worker = TemplateWorker()
    app.state.stalls = stalls_of(settings, clock)
    app.state.secret_box = secret_box(settings.common)
    routers = (api_keys, lead_import, leads, segments, templates, campaigns, suppressions, domains)
    for module in (*routers, providers, guard, warmups, webhook_endpoints, webhook_deliveries):
        app.include_router(module.router)
    dashboard = create_dashboard(settings)
    app.mount(DASHBOARD_PREFIX, dashboard)
    app.include_router(
        health_router(
            {
                "postgres": lambda: check_postgres(app.state.pool),
                "kafka": lambda: check_kafka(settings.common),
            },
            ops_token=settings.common.secret("ops_token"),
        )
    )
    install_problem_handlers(app)
    install_error_handlers(app)
    # Starlette runs the last added middleware first: the body limit wraps idempotency,
    # so the body an idempotent request fingerprints is already bounded.
    app.add_middleware(IdempotencyKeys, ttl_s=settings.idempotency_ttl_seconds)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        paths={
            IMPORT_PATH: settings.max_import_bytes,
            DASHBOARD_IMPORT_PATH: settings.max_import_bytes,
        },
    )
    install_rate_limits(app, settings.rate_limit)
    install_openapi(app, declare_idempotency)
    return app


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres and check Kafka; HTTP with the outbox relay, the scheduler and the
    stalled-campaign count beside it."""
    pool = await stack.enter_async_context(
        open_pool(settings.common.database_url, max_size=settings.db_pool_size)
    )
    await check_kafka(settings.common)
    await reseal_stale(pool, sealer(settings.common))  # completes a sealing-key rotation
    pacing = RelayPacing(settings.outbox_batch_size, settings.outbox_poll_seconds)
    relay = OutboxRelay(pool, settings.common, pacing)
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, settings.common.topic_prefix)
    schedules = Wakeup(
        settings.common.database_url, [CAMPAIGN_STATE], application_name="fanout-scheduler"
    )
    scheduler = partial(
        run_scheduler, pool, topic, schedules, longest=settings.scheduler_interval_seconds
    )
    app = create_app(settings, pool)
    stalls = partial(watch_stalls, app.state.stalls, pool, interval_s=settings.stall_check_seconds)
    purge = partial(run_purge, pool, interval_s=settings.idempotency_purge_interval_seconds)
    sessions = partial(
        purge_every,
        lambda: app.state.sessions.purge(),
        "dashboard_sessions",
        interval_s=settings.dashboard.purge_interval_seconds,
    )
    return Started(app, workers=[relay.run, scheduler, stalls, purge, sessions])


def main() -> None:
    """`python -m services.campaign_api`."""
    run_service("campaign_api", Settings, start)
