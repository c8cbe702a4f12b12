"""report_sink's process: the consumer into ClickHouse and the reports API, side by side.

Start-up checks ClickHouse (and applies its migrations), Kafka and Postgres, failing
fast with a clear message; then serves HTTP on port 8702 while the consumer runs.
Three ClickHouse clients, each on its own thread: the writer (inserts), the reader
(reports) and the analyst client (read-only session for `POST /internal/sql`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI

from services.report_sink.api.routes import campaigns, leads, sql
from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect
from shared.db import check_postgres, create_pool
from shared.errors import DependencyUnavailable
from shared.http.body_limit import BodyLimit
from shared.http.problems import install_problem_handlers
from shared.kafka.admin import check_kafka
from shared.kafka.producer import make_producer
from shared.logging import configure_logging
from shared.service import health_router, install_stop_signals, serve
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


@dataclass
class Resources:
    """Everything the process opened, closed in reverse on the way out."""

    writer: AsyncClickHouse
    reader: AsyncClickHouse
    analyst: AsyncClickHouse
    pool: asyncpg.Pool
    producer: AIOKafkaProducer

    async def close(self) -> None:
        await self.producer.stop()
        await self.pool.close()
        for ch in (self.analyst, self.reader, self.writer):
            ch.close()


def create_app(
    settings: Settings,
    *,
    reader: AsyncClickHouse,
    analyst: AsyncClickHouse,
    pool: asyncpg.Pool,
    admin_token: str,
) -> FastAPI:
    """The reports API on already-open resources."""
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
    app.include_router(
        health_router(
            {
                "clickhouse": reader.ping,
                "postgres": lambda: check_postgres(pool),
                "kafka": lambda: check_kafka(common),
            }
        )
    )
    return app


def open_clickhouse(settings: Settings) -> tuple[AsyncClickHouse, AsyncClickHouse, AsyncClickHouse]:
    """Writer, reader and read-only analyst clients (one thread each)."""
    common = settings.common
    cap = {"max_memory_usage": settings.query_max_memory_bytes}
    writer = connect(common, settings=cap, max_server_memory_bytes=settings.chdb_max_memory_bytes)
    reader = connect(common, settings={**cap, "max_execution_time": 60})
    analyst_settings = {
        **cap,
        "max_result_rows": settings.sql_max_rows + 1,
        "result_overflow_mode": "break",
        "max_execution_time": settings.sql_max_seconds,
        "readonly": 1,  # last: once set, the session refuses any other SET
    }
    analyst = connect(common, settings=analyst_settings)
    return AsyncClickHouse(writer), AsyncClickHouse(reader), AsyncClickHouse(analyst)


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


async def open_resources(settings: Settings) -> Resources:
    """Check every dependency and open it; `DependencyUnavailable` names what is wrong."""
    writer, reader, analyst = open_clickhouse(settings)
    try:
        await writer.ping()
        applied = await migrate(writer)
        log.info("clickhouse.ready", applied=applied)
        topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        if topic not in await check_kafka(settings.common):
            raise DependencyUnavailable(
                f"Kafka topic {topic} does not exist; create the topics with `fanout stack up`"
            )
        pool = await create_pool(settings.common.database_url, max_size=5)
    except BaseException:
        for ch in (analyst, reader, writer):
            ch.close()
        raise
    producer = make_producer(settings.common)
    try:
        await producer.start()
    except KafkaError as exc:
        await pool.close()
        for ch in (analyst, reader, writer):
            ch.close()
        raise DependencyUnavailable(
            f"Kafka at {settings.common.kafka_bootstrap_servers} refused the producer ({exc})"
        ) from exc
    return Resources(writer, reader, analyst, pool, producer)


async def run(settings: Settings) -> None:
    """Serve the API and consume until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    res = await open_resources(settings)
    try:
        token = resolve_admin_token(settings)
        app = create_app(
            settings, reader=res.reader, analyst=res.analyst, pool=res.pool, admin_token=token
        )
        sink = SinkConsumer(settings, EventWriter(res.writer), res.producer)
        await serve(app, host=settings.host, port=settings.port, workers=[sink.run], stop=stop)
    finally:
        await res.close()


def main() -> None:
    """`python -m services.report_sink`."""
    settings = Settings()
    configure_logging("report_sink", settings.common.log_level)
    try:
        asyncio.run(run(settings))
    except DependencyUnavailable as exc:
        log.error("report_sink.dependency_unavailable", error=str(exc))
        sys.stderr.write(f"report_sink cannot start: {exc}\n")
        sys.exit(2)
