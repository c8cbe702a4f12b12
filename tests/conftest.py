"""Fixtures on the real stack: a fresh Postgres database per test session, unique topics.

The test command (`make test`, i.e. `fanout test`) brings up a stack of the suite's own
(PostgreSQL and Kafka on free ports, in a home of its own) and points every FANOUT_*
variable at it; these fixtures connect with the same settings the services use. Tests
that start services (`suite_stack`) only run there, never against a stack the suite did
not start.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import structlog
from aiokafka import AIOKafkaProducer

from fanout_cli.testrun.stack import SuiteStack
from services.esp_simulator.dns import Zone, serving_dns
from shared.db import create_pool
from shared.kafka.admin import open_admin
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import all_topic_names
from tests.databases import scratch_database
from tests.domains import LocalDns
from tests.topics import TestTopics

# Tests are the `test` environment: a secret not given is a random value of this process
# (shared/settings.py), so settings made anywhere in the suite agree with each other.
os.environ["FANOUT_ENVIRONMENT"] = "test"


@pytest.fixture(scope="session")
def base_settings() -> CommonSettings:
    """Settings of the local stack (or whatever FANOUT_* points at)."""
    return CommonSettings(environment="test")


@pytest.fixture(scope="session")
def suite_stack() -> SuiteStack:
    """The stack `fanout test` started for this run; skips when pytest runs without it."""
    stack = SuiteStack.current()
    if stack is None:
        pytest.skip("starts services: runs under `make test` (`fanout test`), on its own stack")
    return stack


@pytest.fixture(scope="session")
async def pg_dsn(base_settings: CommonSettings) -> AsyncIterator[str]:
    """A fresh database with every migration applied, dropped after the session."""
    async with scratch_database(base_settings.database_url) as dsn:
        yield dsn


@pytest.fixture
async def empty_dsn(base_settings: CommonSettings) -> AsyncIterator[str]:
    """A database of the test's own with no migration applied (for tests of the
    migrations themselves), dropped afterwards."""
    async with scratch_database(
        base_settings.database_url, migrated=False, prefix="fanout_migration"
    ) as dsn:
        yield dsn


@pytest.fixture(scope="session")
async def local_dns() -> AsyncIterator[LocalDns]:
    """The ESP simulator's zone and its real UDP DNS server, in-process on a free port:
    what the local stack points campaign_api's domain verification at."""
    zone = Zone()
    async with serving_dns(zone, "127.0.0.1", 0) as port:
        yield LocalDns(zone, port)


@pytest.fixture(scope="session")
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the session's test database."""
    p = await create_pool(pg_dsn, max_size=10)
    yield p
    await p.close()


@pytest.fixture
def topic_prefix() -> str:
    """A prefix no other test uses, so tests never share a topic."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="session")
async def test_topics(base_settings: CommonSettings) -> AsyncIterator[TestTopics]:
    """Tests' topics, made and deleted on one admin client for the session (`tests/topics.py`)."""
    async with open_admin(base_settings) as admin:
        topics = TestTopics(admin)
        yield topics
        await topics.flush()


@pytest.fixture
async def settings(
    base_settings: CommonSettings, pg_dsn: str, topic_prefix: str, test_topics: TestTopics
) -> AsyncIterator[CommonSettings]:
    """Settings for one test: its own topics (created, deleted after), the session's database."""
    common = base_settings.model_copy(update={"topic_prefix": topic_prefix, "database_url": pg_dsn})
    topics = all_topic_names(topic_prefix)
    await test_topics.create(topics)
    yield common
    await test_topics.retire([name for name, _ in topics])


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    """Commands run in-process (typer's CliRunner) configure logging for themselves; put the
    test process's configuration back (structlog's, and the root logger's handlers and
    level) so tests that capture logs see every level."""
    before = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**before)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def producer(settings: CommonSettings) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer on the test's settings."""
    started = make_producer(settings)
    await started.start()
    yield started
    await started.stop()
