"""A launch that answered 202 reaches `campaign.launches` exactly once, Kafka down or not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from fanout_cli.stack.kafka import KafkaBroker
from services.campaign_api.campaigns.relay import OutboxRelay
from shared.auth import create_account
from shared.contracts import CampaignCommand, decode
from shared.db import create_pool
from shared.kafka.admin import ensure_topics
from shared.migrations.postgres import upgrade_async
from shared.settings import CommonSettings
from shared.topics import Topic, all_topic_names, topic_name
from tests.campaign_api.conftest import TenantFactory, client_for, start_app
from tests.campaign_api.helpers import make_campaign

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@contextlib.asynccontextmanager
async def running_relay(pool: asyncpg.Pool, common: CommonSettings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    relay = OutboxRelay(pool, common, poll_seconds=0.1, max_backoff=1.0)
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _commands(common: CommonSettings, settle: float) -> list[CampaignCommand]:
    """Every command on the topic: read until nothing new arrives for `settle` seconds."""
    consumer = AIOKafkaConsumer(
        topic_name(Topic.CAMPAIGN_LAUNCHES, common.topic_prefix),
        bootstrap_servers=common.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    commands: list[CampaignCommand] = []
    try:
        deadline = time.monotonic() + 20
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            records = [r for rs in batch.values() for r in rs]
            commands += [decode(CampaignCommand, r.value) for r in records]
            if records:
                quiet_since = time.monotonic()
            elif commands and time.monotonic() - quiet_since > settle:
                break
    finally:
        await consumer.stop()
    return commands


async def _published(pool: asyncpg.Pool, campaign_id: str) -> list[bool]:
    rows = await pool.fetch(
        "SELECT published_at IS NOT NULL AS done FROM outbox WHERE key = $1", campaign_id.encode()
    )
    return [r["done"] for r in rows]


async def test_launch_campaign_publishes_one_command_then_others_in_order(
    settings: CommonSettings, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    app, stop_app = await start_app(settings)
    try:
        tenant = await make_tenant(app)
        campaign = await make_campaign(tenant.client)
        async with running_relay(pool, settings):
            launched = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
            assert launched.status_code == 202
            commands = await _commands(settings, settle=1.0)
            mine = [c for c in commands if str(c.campaign_id) == campaign["id"]]
            assert len(mine) == 1
            assert (mine[0].kind, str(mine[0].run_id)) == ("launch", launched.json()["run_id"])
            assert mine[0].account_id == tenant.account_id
            for action in ("pause", "resume", "cancel"):
                assert (
                    await tenant.client.post(f"/campaigns/{campaign['id']}/{action}")
                ).is_success
            commands = await _commands(settings, settle=1.0)
        assert await _published(pool, campaign["id"]) == [True] * 4
    finally:
        await stop_app()
    kinds = [c.kind.value for c in commands if str(c.campaign_id) == campaign["id"]]
    assert kinds == ["launch", "pause", "resume", "cancel"]


@pytest.fixture
async def private_db(base_settings: CommonSettings) -> AsyncIterator[str]:
    """A database of its own, so this test's relay sees only this test's outbox rows."""
    name = f"fanout_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(base_settings.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = base_settings.database_url.rsplit("/", 1)[0] + "/" + name
        await upgrade_async(dsn)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
async def test_launch_campaign_while_kafka_down_arrives_once(
    settings: CommonSettings, private_db: str, tmp_path: Path
) -> None:
    broker = KafkaBroker(
        home=tmp_path,
        cache_dir=settings.cache_dir,
        port=_free_port(),
        controller_port=_free_port(),
        name="kafka-private",
        heap="384m",
    )
    private = settings.model_copy(
        update={"kafka_bootstrap_servers": broker.bootstrap, "database_url": private_db}
    )
    log: list[str] = []
    pool = await create_pool(private_db, max_size=4)
    try:
        await asyncio.to_thread(broker.start, log)
        await asyncio.to_thread(broker.wait_ready, 90.0)
        await ensure_topics(private, all_topic_names(private.topic_prefix))
        await asyncio.to_thread(broker.stop)  # Kafka is down from here on

        app, stop_app = await start_app(private)
        try:
            _, key = await create_account(pool, "kafka-down")
            async with client_for(app, key) as client:
                campaign = await make_campaign(client)
                launched = await client.post(f"/campaigns/{campaign['id']}/launch")
            assert launched.status_code == 202
        finally:
            await stop_app()
        async with running_relay(pool, private):
            await asyncio.sleep(3)
            assert await _published(pool, campaign["id"]) == [False]
            await asyncio.to_thread(broker.start, log)  # Kafka is back
            await asyncio.to_thread(broker.wait_ready, 90.0)
            commands = await _commands(private, settle=2.0)
        assert await _published(pool, campaign["id"]) == [True]
    finally:
        await asyncio.to_thread(broker.stop)
        await pool.close()
    mine = [c for c in commands if str(c.campaign_id) == campaign["id"]]
    assert len(mine) == 1
    assert (mine[0].kind, str(mine[0].run_id)) == ("launch", launched.json()["run_id"])
