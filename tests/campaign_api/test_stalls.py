"""Stalled campaigns: running with no progress for the threshold, shown with the likely reason
in the API and counted by reason for /metrics.

Times are pinned: the app judges stalls at a `PinnedTime` set just before or just after
the threshold has passed since the campaign's last progress. Each app has a topic prefix
of its own, so its consumer groups have no members unless the test starts one.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.campaign_api.campaigns.commands import apply_action
from services.campaign_api.campaigns.consumer_groups import GroupLook
from services.campaign_api.campaigns.stalls import (
    Stage,
    StallReason,
    Stalls,
    explain,
    watch_stalls,
)
from services.campaign_api.config import Settings
from services.campaign_api.main import create_app
from shared.campaigns import Action, State, move
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.campaign_api.conftest import Tenant, TenantFactory
from tests.campaign_api.helpers import make_campaign
from tests.clock import PinnedTime
from tests.domains import LocalDns

pytestmark = pytest.mark.postgres

LAUNCHED = datetime(2101, 3, 7, 13, 17, 29, tzinfo=UTC)
AFTER = timedelta(minutes=10)
SECOND = timedelta(seconds=1)
REFUSED = "127.0.0.1:9"  # the discard port: nothing listens, the connection is refused

AppAt = Callable[..., AbstractAsyncContextManager[FastAPI]]


@pytest.fixture
def clock() -> PinnedTime:
    return PinnedTime(LAUNCHED)


@pytest.fixture
def app_at(
    base_settings: CommonSettings, pg_dsn: str, pool: asyncpg.Pool, local_dns: LocalDns
) -> AppAt:
    """Apps judging stalls at a pinned clock, with a topic prefix of their own (or `common`)."""

    @asynccontextmanager
    async def started(
        clock: PinnedTime, common: CommonSettings | None = None, **knobs: Any
    ) -> AsyncIterator[FastAPI]:
        prefix = {"database_url": pg_dsn, "topic_prefix": f"t{uuid.uuid4().hex[:8]}."}
        settings = Settings(
            common=common or base_settings.model_copy(update=prefix),
            domains=local_dns.settings,
            stalled_after_seconds=AFTER.total_seconds(),
            group_look_ttl_seconds=60.0,  # every look of a test but the first is cached
            **knobs,
        )
        app = create_app(settings, pool, clock=clock)
        async with app.router.lifespan_context(app):
            yield app

    return started


async def sending_campaign(tenant: Tenant, pool: asyncpg.Pool) -> dict[str, Any]:
    """A campaign launched through the API and moved to `sending` as the workers move it."""
    campaign = await make_campaign(tenant.client)
    launched = await tenant.client.post(f"/campaigns/{campaign['id']}/launch")
    assert launched.status_code == 202, launched.text
    for action in (Action.RESOLVE, Action.SEND):
        assert await move(pool, UUID(campaign["id"]), action) is not None
    shown = (await tenant.client.get(f"/campaigns/{campaign['id']}")).json()
    assert shown["state"] == "sending"
    return dict(shown)


def progressed_at(campaign: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(campaign["updated_at"])


async def stalled_campaign(
    app: FastAPI, make_tenant: TenantFactory, pool: asyncpg.Pool, clock: PinnedTime
) -> tuple[Tenant, str]:
    """A tenant of `app` and the URL of its campaign in `sending`, the clock pinned just
    past the threshold since its last progress."""
    tenant = await make_tenant(app)
    campaign = await sending_campaign(tenant, pool)
    clock.now = progressed_at(campaign) + AFTER + SECOND
    return tenant, f"/campaigns/{campaign['id']}"


async def test_get_campaign_stalled_without_sender_is_no_consumer(
    app_at: AppAt, clock: PinnedTime, make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    async with app_at(clock) as app:
        tenant = await make_tenant(app)
        campaign = await sending_campaign(tenant, pool)
        url = f"/campaigns/{campaign['id']}"

        clock.now = progressed_at(campaign) + AFTER - SECOND
        assert (await tenant.client.get(url)).json()["stalled"] is None  # fresh: progressing

        clock.now = progressed_at(campaign) + AFTER + SECOND
        answer = await tenant.client.get(url)
        assert answer.status_code == 200
        stalled = answer.json()["stalled"]
        group = app.state.settings.common.topic_prefix + "fanout-sender"
        assert stalled["reason"] == StallReason.NO_CONSUMER
        assert stalled["since"] == campaign["updated_at"]
        assert f"consumer group {group} has no members" in stalled["detail"]


async def test_get_campaign_stalled_while_provider_waits_is_provider_stopped(
    app_at: AppAt, clock: PinnedTime, make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    async with app_at(clock) as app:
        tenant, url = await stalled_campaign(app, make_tenant, pool, clock)
        lease = "UPDATE campaigns SET provider_wait_reason = $2, provider_wait_since = $3, "
        lease += "provider_wait_until = $4 WHERE id = $1"
        until = clock.now + timedelta(seconds=5)  # the sender's lease holds at the pinned time
        await pool.execute(lease, UUID(url.rsplit("/", 1)[1]), "HTTP 429", clock.now, until)
        asked = app.state.stalls.groups.asked

        stalled = (await tenant.client.get(url)).json()["stalled"]
        assert stalled["reason"] == StallReason.PROVIDER_STOPPED
        assert "HTTP 429" in stalled["detail"]
        assert app.state.stalls.groups.asked == asked  # the provider's answer is enough


async def test_get_campaign_stalled_with_broker_unreachable_is_unknown(
    app_at: AppAt,
    clock: PinnedTime,
    make_tenant: TenantFactory,
    pool: asyncpg.Pool,
    base_settings: CommonSettings,
    pg_dsn: str,
) -> None:
    offline = base_settings.model_copy(
        update={"database_url": pg_dsn, "kafka_bootstrap_servers": REFUSED, "topic_prefix": "x."}
    )
    async with app_at(clock, offline, group_look_timeout_seconds=1.0) as app:
        tenant, url = await stalled_campaign(app, make_tenant, pool, clock)
        answer = await tenant.client.get(url)
        assert answer.status_code == 200
        stalled = answer.json()["stalled"]
        assert stalled["reason"] == StallReason.UNKNOWN
        assert stalled["detail"].startswith("could not ask Kafka about sender's consumer group")


async def test_list_campaigns_asks_the_broker_once_per_group(
    app_at: AppAt, clock: PinnedTime, make_tenant: TenantFactory, pool: asyncpg.Pool
) -> None:
    async with app_at(clock) as app:
        tenant = await make_tenant(app)
        first, second = [await sending_campaign(tenant, pool) for _ in range(2)]
        draft = await make_campaign(tenant.client)  # not running: never stalled
        clock.now = max(map(progressed_at, (first, second))) + AFTER + SECOND

        for _ in range(2):  # the second page comes from the cached look
            page = (await tenant.client.get("/campaigns")).json()["items"]
            reasons = {c["id"]: (c["stalled"] or {}).get("reason") for c in page}
            assert reasons == {
                first["id"]: "no_consumer",
                second["id"]: "no_consumer",
                draft["id"]: None,
            }
        assert app.state.stalls.groups.asked == 1


@pytest.mark.kafka
async def test_get_campaign_stalled_behind_a_lagging_sender_is_lag_growing(
    app_at: AppAt,
    clock: PinnedTime,
    make_tenant: TenantFactory,
    pool: asyncpg.Pool,
    settings: CommonSettings,
    producer: AIOKafkaProducer,
) -> None:
    sends = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
    member = AIOKafkaConsumer(
        sends,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.topic_prefix + "fanout-sender",
        enable_auto_commit=False,  # it never commits: everything produced is lag
    )
    await member.start()
    try:
        async with asyncio.timeout(60):
            while not member.assignment():
                await member.getmany(timeout_ms=200)
        for n in range(3):
            await producer.send_and_wait(sends, b"{}", key=f"k{n}".encode())
        async with app_at(clock, settings) as app:
            tenant, url = await stalled_campaign(app, make_tenant, pool, clock)
            stalled = (await tenant.client.get(url)).json()["stalled"]
    finally:
        await member.stop()
    assert stalled["reason"] == StallReason.LAG_GROWING
    assert "has 1 member(s) and is 3 records behind" in stalled["detail"]


async def test_count_stalled_campaigns_by_reason_exports_the_gauges(
    tenant: Tenant, pool: asyncpg.Pool, api_app: FastAPI
) -> None:
    topic = topic_name(Topic.CAMPAIGN_LAUNCHES, api_app.state.settings.common.topic_prefix)
    campaign = UUID((await make_campaign(tenant.client))["id"])
    clock = PinnedTime(LAUNCHED)
    stalls = Stalls(api_app.state.stalls.stages, api_app.state.stalls.groups, AFTER, clock)

    async def act(action: Action) -> State:
        row = await apply_action(
            pool, tenant.account_id, campaign, action, topic=topic, now=LAUNCHED
        )
        return State(row["state"])

    async def no_consumer(at: datetime) -> int:
        clock.now = at
        return (await stalls.count(pool))[StallReason.NO_CONSUMER]

    assert await act(Action.LAUNCH) == State.QUEUED  # waits on lead_resolver: no member
    before = await no_consumer(LAUNCHED + AFTER - SECOND)
    assert await no_consumer(LAUNCHED + AFTER + SECOND) == before + 1

    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    await watch_stalls(stalls, pool, stop, interval_s=0.05)
    gauge = REGISTRY.get_sample_value
    by_reason = gauge("fanout_campaigns_stalled_by_reason", {"reason": "no_consumer"})
    assert by_reason == before + 1
    total = gauge("fanout_campaigns_stalled")
    assert total == sum(
        gauge("fanout_campaigns_stalled_by_reason", {"reason": r.value}) or 0 for r in StallReason
    )

    assert await act(Action.PAUSE) == State.PAUSED  # paused on purpose: not stalled
    assert await no_consumer(LAUNCHED + AFTER + SECOND) == before


@pytest.mark.parametrize(
    ("lag", "previous", "reason", "says"),
    [
        (7, None, StallReason.LAG_GROWING, "is 7 records behind on email.sends"),
        (9, 7, StallReason.LAG_GROWING, "is 9 records behind on email.sends (was 7)"),
        (5, 7, StallReason.UNKNOWN, "the broker shows nothing holding the campaign back"),
        (0, None, StallReason.UNKNOWN, "is 0 records behind"),
    ],
)
def test_explain_stall_of_a_group_with_members(
    lag: int, previous: int | None, reason: StallReason, says: str
) -> None:
    stage = Stage("sender", "fanout-sender", "email.sends")
    look = GroupLook("fanout-sender", "email.sends", members=2, lag=lag, previous_lag=previous)
    found, detail = explain(stage, None, look)
    assert (found, says in detail) == (reason, True), detail
