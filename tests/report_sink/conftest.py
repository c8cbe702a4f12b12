"""Fixtures of the report_sink tests: a chDB folder of each test's own, migrated."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.schema import migrate
from services.report_sink.sink import EventWriter
from shared.clickhouse import AsyncClickHouse, connect_embedded
from shared.settings import CommonSettings
from shared.topics import Topic, dead_letter_name, topic_name
from tests.topics import TestTopics


@pytest.fixture
async def settings(
    base_settings: CommonSettings, pg_dsn: str, topic_prefix: str, test_topics: TestTopics
) -> AsyncIterator[CommonSettings]:
    """Like the root fixture, but only the sink's topics (email.events with 3 partitions and
    its dead-letter topic), deleted afterwards: one test broker cannot keep 33 partitions
    per test for ever."""
    common = base_settings.model_copy(update={"topic_prefix": topic_prefix, "database_url": pg_dsn})
    topic = topic_name(Topic.EMAIL_EVENTS, topic_prefix)
    await test_topics.create([(topic, 3), (dead_letter_name(topic), 1)])
    yield common
    await test_topics.retire([topic, dead_letter_name(topic)])


@pytest.fixture
def chdb_path(tmp_path: Path) -> Path:
    """The test's own chDB folder (never the stack's)."""
    return tmp_path / "chdb"


@pytest.fixture
async def ch(chdb_path: Path) -> AsyncIterator[AsyncClickHouse]:
    """A migrated embedded ClickHouse, closed after the test."""
    client = AsyncClickHouse(connect_embedded(chdb_path))
    await migrate(client)
    yield client
    client.close()


@pytest.fixture
def sink_settings(settings: CommonSettings, tmp_path: Path) -> Settings:
    """report_sink settings on the test's topics, a unique group, short batches."""
    common = settings.model_copy(update={"home": tmp_path})
    return Settings(
        common=common,
        group_id=f"report-sink-{uuid.uuid4().hex[:8]}",
        batch_max_seconds=0.3,
        retry_backoff_s=0.1,
        max_retry_backoff_s=0.5,
    )


class RunningSink:
    """A SinkConsumer running as a task of the test's loop."""

    def __init__(self, consumer: SinkConsumer) -> None:
        self.consumer = consumer
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(consumer.run(self.stop))

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=30)


@pytest.fixture
async def start_sink(sink_settings: Settings, producer: AIOKafkaProducer) -> AsyncIterator[object]:
    """`await start_sink(writer)` starts a sink; every started one is stopped after the test."""
    started: list[RunningSink] = []

    async def start(writer: EventWriter) -> RunningSink:
        running = RunningSink(SinkConsumer(sink_settings, writer, producer))
        started.append(running)
        return running

    yield start
    for running in started:
        if not running.task.done():
            await running.close()
