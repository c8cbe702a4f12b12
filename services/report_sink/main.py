"""report_sink's process: the consumer into ClickHouse and the reports API, side by side.

Start-up opens Postgres, ClickHouse (and applies its migrations) and Kafka, failing
fast with a clear message; then serves HTTP on port 8702 while the consumer runs.
Three ClickHouse clients, each on its own thread: the writer (inserts), the reader
(reports) and the analyst client (read-only session for `POST /internal/sql`).
"""

from __future__ import annotations

import os
import secrets
from contextlib import AsyncExitStack, ExitStack, closing
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI

from services.report_sink.api.routes import campaigns, leads, sql
from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect
from shared.db import check_postgres, open_pool
from shared.errors import DependencyUnavailable
from shared.http.body_limit import BodyLimit
from shared.http.problems import install_problem_handlers
from shared.kafka.admin import check_kafka
from shared.kafka.producer import open_producer
from shared.service import ReadinessCheck, Started, health_router, run_service
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
    app.state.analyst = analyst
    app.state.admin_token = admin_token
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, default=settings.max_body_bytes)
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
    app.include_router(health_router(checks))
    return app


def open_clickhouse(settings: Settings) -> tuple[AsyncClickHouse, AsyncClickHouse, AsyncClickHouse]:
    """Writer, reader and read-only analyst clients (one thread each); the caller closes them."""
    common = settings.common
    cap = {"max_memory_usage": settings.query_max_memory_bytes}
    analyst_settings = {
        **cap,
        "max_result_rows": settings.sql_max_rows + 1,
        "result_overflow_mode": "break",
        "max_execution_time": settings.sql_max_seconds,
        "readonly": 1,  # last: once set, the session refuses any other SET
    }
    with ExitStack() as opened:  # a client that fails to open closes those opened before it

        def client(**options: Any) -> AsyncClickHouse:
            return opened.enter_context(closing(AsyncClickHouse(connect(common, **options))))

        memory = settings.chdb_max_memory_bytes
        writer = client(settings=cap, max_server_memory_bytes=memory)
        reader = client(settings={**cap, "max_execution_time": 60})
        analyst = client(settings=analyst_settings)
        opened.pop_all()
    return writer, reader, analyst


def admin_token_path(settings: Settings) -> Path:
    """Where the generated admin token is kept for `fanout sql`."""
    return settings.common.home / "report_sink.admin_token"


def resolve_admin_token(settings: Settings) -> str:
    """The configured admin token, or a fresh one written (0600) for the local admin."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    token = secrets.token_urlsafe(32)
    path = admin_token_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    return token


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres, ClickHouse (migrated) and Kafka; the sink consumes beside the API."""
    common = settings.common
    pool = await stack.enter_async_context(
        open_pool(common.database_url, max_size=settings.db_pool_size)
    )
    writer, reader, analyst = open_clickhouse(settings)
    for client in (writer, reader, analyst):
        stack.callback(client.close)
    await writer.ping()
    log.info("clickhouse.ready", applied=await migrate(writer))
    topic = topic_name(Topic.EMAIL_EVENTS, common.topic_prefix)
    if topic not in await check_kafka(common):
        raise DependencyUnavailable(
            f"Kafka topic {topic} does not exist",
            setting="FANOUT_TOPIC_PREFIX",
            remedy="create the topics with `fanout stack up`",
        )
    producer = await stack.enter_async_context(open_producer(common))
    token = resolve_admin_token(settings)
    sink = SinkConsumer(settings, EventWriter(writer), producer)
    app = create_app(
        settings, reader=reader, analyst=analyst, pool=pool, admin_token=token, consumer=sink.check
    )
    return Started(app, workers=[sink.run])


def main() -> None:
    """`python -m services.report_sink`."""
    run_service("report_sink", Settings, start)
