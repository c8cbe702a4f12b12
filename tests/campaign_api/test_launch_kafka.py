"""A launch that answered 202 reaches `campaign.launches` exactly once, Kafka down or not."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from fanout_cli.stack.kafka import KafkaBroker, jvm_options
from services.campaign_api.campaigns.relay import OutboxRelay, RelayPacing
from shared.auth import create_account
from shared.contracts import CampaignCommand, decode
from shared.db import create_pool
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.campaign_api.conftest import client_for, start_app
from tests.campaign_api.helpers import make_campaign
from tests.domains import LocalDns, verified_domain
from tests.ports import free_port
from tests.shared.kafka_helpers import from_start

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@contextlib.asynccontextmanager
async def running_relay(pool: asyncpg.Pool, common: CommonSettings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    relay = OutboxRelay(pool, common, RelayPacing(poll_seconds=0.1, max_backoff=1.0))
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _commands(common: CommonSettings, settle: float) -> list[CampaignCommand]:
    """Every command on the topic: read until nothing new arrives for `settle` seconds."""
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, common.topic_prefix)
    commands: list[CampaignCommand] = []
    async with from_start(common.kafka_bootstrap_servers, topic) as consumer:
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
    return commands


async def _published(pool: asyncpg.Pool, campaign_id: str) -> list[bool]:
    rows = await pool.fetch(
        "SELECT published_at IS NOT NULL AS done FROM outbox WHERE key = $1", campaign_id.encode()
    )
    return [r["done"] for r in rows]


async def _with_launches_topic(common: CommonSettings) -> None:
    """Only the topic these tests use, one partition: light on the shared broker."""
    await ensure_topics(common, [(topic_name(Topic.CAMPAIGN_LAUNCHES, common.topic_prefix), 1)])


async def _drop_launches_topic(common: CommonSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=common.kafka_bootstrap_servers)
    try:
        await admin.start()
        await admin.delete_topics([topic_name(Topic.CAMPAIGN_LAUNCHES, common.topic_prefix)])
    except KafkaError:
        pass  # best effort: a left-over test topic harms nobody
    finally:
        await admin.close()


async def test_launch_campaign_publishes_one_command_then_others_in_order(
    base_settings: CommonSettings, topic_prefix: str, private_db: str, local_dns: LocalDns
) -> None:
    common = base_settings.model_copy(
        update={"database_url": private_db, "topic_prefix": topic_prefix}
    )
    await _with_launches_topic(common)
    pool = await create_pool(private_db, max_size=4)
    app, stop_app = await start_app(common, local_dns)
    try:
        account_id, key = await create_account(pool, "kafka")
        await verified_domain(pool, account_id, local_dns)
        async with client_for(app, key) as client, running_relay(pool, common):
            campaign = await make_campaign(client)
            launched = await client.post(f"/campaigns/{campaign['id']}/launch")
            assert launched.status_code == 202
            (command,) = await _commands(common, settle=1.0)
            assert (command.kind, str(command.run_id)) == ("launch", launched.json()["run_id"])
            assert str(command.campaign_id) == campaign["id"]
            for action in ("pause", "resume", "cancel"):
                assert (await client.post(f"/campaigns/{campaign['id']}/{action}")).is_success
            commands = await _commands(common, settle=1.0)
        assert await _published(pool, campaign["id"]) == [True] * 4
    finally:
        await stop_app()
        await pool.close()
        await _drop_launches_topic(common)
    assert [c.kind.value for c in commands] == ["launch", "pause", "resume", "cancel"]


@pytest.mark.slow
async def test_launch_campaign_while_kafka_down_arrives_once(
    base_settings: CommonSettings,
    topic_prefix: str,
    private_db: str,
    tmp_path: Path,
    local_dns: LocalDns,
) -> None:
    broker = KafkaBroker(
        home=tmp_path,
        cache_dir=base_settings.cache_dir,
        port=free_port(),
        controller_port=free_port(),
        name="kafka-private",
        heap="384m",
        jvm_options=jvm_options(os.environ),  # the suite's (fanout test sets them)
    )
    private = base_settings.model_copy(
        update={
            "kafka_bootstrap_servers": broker.bootstrap,
            "database_url": private_db,
            "topic_prefix": topic_prefix,
        }
    )
    log: list[str] = []
    pool = await create_pool(private_db, max_size=4)
    try:
        await asyncio.to_thread(broker.start, log)
        await asyncio.to_thread(broker.wait_ready, 90.0)
        await _with_launches_topic(private)
        await asyncio.to_thread(broker.stop)  # Kafka is down from here on

        app, stop_app = await start_app(private, local_dns)
        try:
            account_id, key = await create_account(pool, "kafka-down")
            await verified_domain(pool, account_id, local_dns)
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
        await asyncio.to_thread(broker.kill)  # its data goes with tmp_path
        await pool.close()
    mine = [c for c in commands if str(c.campaign_id) == campaign["id"]]
    assert len(mine) == 1
    assert (mine[0].kind, str(mine[0].run_id)) == ("launch", launched.json()["run_id"])
