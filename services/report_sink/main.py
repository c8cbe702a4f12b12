"""report_sink's process: the consumer into ClickHouse and the reports API, side by side.

Start-up opens Postgres, ClickHouse (and applies its migrations) and Kafka, failing
fast with a clear message; then serves HTTP on port 8702 while the consumer runs.
Four ClickHouse clients, each on its own thread: the writer (inserts), the reader
(reports), the analyst client (the read-only, limited session of the analysts' SQL:
`POST /reports/sql` and `POST /internal/sql`) and the summary client (the campaign
list's recomputes, `summary.py`), so none waits on another's queries.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, ExitStack, closing
from functools import partial
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI

from services.report_sink.analyst import AnalystSql
from services.report_sink.api.routes import campaigns, leads, sql
from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.memory import limit_malloc_arenas, release_engine_code
from services.report_sink.schema import (
    cap_merges,
    migrate,
    tune_event_merges,
    tune_lead_set_merges,
)
from services.report_sink.sink import EventWriter
from services.report_sink.summary import CampaignSummaries
from services.report_sink.threads import keep_merges_niced
from shared.clickhouse import AsyncClickHouse, connect
from shared.db import check_postgres, open_pool
from shared.http.body_limit import BodyLimit
from shared.http.openapi import install_openapi
from shared.http.problems import install_problem_handlers
from shared.http.rate_limits import install_rate_limits
from shared.kafka.admin import check_kafka, require_topic
from shared.kafka.producer import open_producer
from shared.service import ReadinessCheck, Started, Worker, health_router, run_service
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings,
    *,
    reader: AsyncClickHouse,
    analyst: AsyncClickHouse,
    pool: asyncpg.Pool,
    admin_token: str,
    consumer: ReadinessCheck | None = None,
) -> FastAPI:
    """The reports API on already-open resources (`consumer`: the sink's readiness)."""
    app = FastAPI(
        title="Fanout reports",
        version="1",
        description="Campaign reports from ClickHouse, scoped to the caller's account.",
    )
    app.state.settings = settings
    app.state.pool = pool
    app.state.reader = reader
    app.state.analyst = AnalystSql(analyst)
    app.state.admin_token = admin_token
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes)
    install_rate_limits(app, settings.rate_limit)
    for router in (campaigns.router, leads.router, sql.router):
        app.include_router(router)
    common = settings.common
    checks: dict[str, ReadinessCheck] = {
        "clickhouse": reader.ping,
        "postgres": lambda: check_postgres(pool),
        "kafka": lambda: check_kafka(common),
    }
    if consumer is not None:
        checks["consumer"] = consumer
    app.include_router(health_router(checks, ops_token=common.secret("ops_token")))
    install_openapi(app)
    return app


# ClickHouse's query `priority` (0: none; otherwise a lower number runs first): while a
# reports query runs, the analysts' queries and the campaign summary's recomputes, which
# can each read every row of an account, pause between blocks instead of taking the cores
# from it. The sink's inserts keep none: they are never paused (the topic would back up).
# On 10M events, recomputes running back to back beside the funnel's reads: the funnel's
# p95 153.5 and 103.6 ms without priorities, 97.6 and 74.2 ms with them (docs/benchmarks.md,
# "Round 6 of issue 17").
REPORTS_PRIORITY = 1
BACKGROUND_PRIORITY = 2


def summary_settings(settings: Settings) -> dict[str, Any]:
    """Session settings of the campaign summary's client."""
    session = {"max_memory_usage": settings.query_max_memory_bytes, "priority": BACKGROUND_PRIORITY}
    if settings.summary_max_threads:
        session["max_threads"] = settings.summary_max_threads
    return session


def query_cap(settings: Settings) -> dict[str, Any]:
    """One query's (or insert's) memory cap: the writers', the reader's, the analyst's."""
    return {"max_memory_usage": settings.query_max_memory_bytes}


def open_clickhouse(settings: Settings) -> tuple[AsyncClickHouse, AsyncClickHouse, AsyncClickHouse]:
    """Writer, reader and read-only analyst clients (one thread each); the caller closes them."""
    common = settings.common
    cap = query_cap(settings)
    analyst_settings = {
        **cap,
        "priority": BACKGROUND_PRIORITY,
        # a result over either limit fails the query (result_overflow_mode=throw): cut
        # results ("break") stop at a block boundary and cannot say which limit cut them
        "max_result_rows": settings.sql_max_rows,
        "max_result_bytes": settings.sql_max_result_bytes,
        "result_overflow_mode": "throw",
        "max_execution_time": settings.sql_max_seconds,
        "readonly": 1,  # last: once set, the session refuses any other SET
    }
    with ExitStack() as opened:  # a client that fails to open closes those opened before it

        def client(**options: Any) -> AsyncClickHouse:
            return opened.enter_context(closing(AsyncClickHouse(connect(common, **options))))

        if settings.malloc_arena_max and not common.clickhouse_url:
            limit_malloc_arenas(settings.malloc_arena_max)  # before the engine's threads
        writer = client(  # the first client: it starts the engine with these settings
            settings=cap,
            max_server_memory_bytes=settings.chdb_max_memory_bytes,
            engine_options=settings.engine_options(),
        )
        reader = client(settings={**cap, "max_execution_time": 60, "priority": REPORTS_PRIORITY})
        analyst = client(settings=analyst_settings)
        opened.pop_all()
    return writer, reader, analyst


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres, ClickHouse (migrated) and Kafka; the sink consumes beside the API."""
    common = settings.common
    pool = await stack.enter_async_context(
        open_pool(common.database_url, max_size=settings.db_pool_size)
    )
    writer, reader, analyst = open_clickhouse(settings)
    for client in (writer, reader, analyst):
        stack.callback(client.close)
    inserters = [writer]
    for _ in range(settings.insert_concurrency - 1):  # on the engine the writer started
        inserters.append(AsyncClickHouse(connect(common, settings=query_cap(settings))))
        stack.callback(inserters[-1].close)
    summary_client = AsyncClickHouse(connect(common, settings=summary_settings(settings)))
    stack.callback(summary_client.close)
    await writer.ping()
    log.info("clickhouse.ready", applied=await migrate(writer))
    if not common.clickhouse_url:  # the embedded engine's own tuning
        await tune_event_merges(writer, settings.chdb_events_merge_selector_base)
        await cap_merges(writer, settings.chdb_max_merge_bytes)
        await tune_lead_set_merges(writer, settings.chdb_lead_set_merge_block_rows)
        if settings.chdb_release_code:
            release_engine_code()  # start-up is done: what it touched need not stay resident
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    await require_topic(common, topic)
    producer = await stack.enter_async_context(open_producer(common))
    token = common.secret("admin_token")
    summaries = CampaignSummaries(
        summary_client, settings.summary_interval_s, busy_share=settings.summary_busy_share
    )
    sink = SinkConsumer(settings, EventWriter(*inserters), producer, summaries)
    app = create_app(
        settings, reader=reader, analyst=analyst, pool=pool, admin_token=token, consumer=sink.check
    )
    workers: list[Worker] = [sink.run]
    if settings.chdb_merge_nice and not common.clickhouse_url:
        workers.append(partial(keep_merges_niced, settings.chdb_merge_nice))
    return Started(app, workers=workers)


def main() -> None:
    """`python -m services.report_sink`."""
    run_service("report_sink", Settings, start)
