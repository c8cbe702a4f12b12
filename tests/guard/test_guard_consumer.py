"""The guard on the real broker and Postgres, fed `email.events` records directly.

Counts are exact whatever Kafka or a provider repeats: a record delivered twice and an
event re-published in a new record count once, and a restarted guard given records it
counted before counts nothing. A complaint spike in the sliding window pauses a campaign
whose total stays under its line, with the reason; an account past its account-wide line
has every campaign paused except the one its owner resumed over the guard.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.guard.config import Settings
from services.guard.consumer import GuardConsumer
from services.guard.recent import RecentIds
from services.guard.step import GuardStep
from services.notifier.config import Settings as NotifierSettings
from services.notifier.consumer import LeadEventsConsumer
from services.report_sink.config import Settings as SinkSettings
from shared.contracts import EventBatch, EventType, encode
from shared.kafka.strategies.batch import Batch
from shared.reputation import GuardThresholds, save_thresholds
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests import factories
from tests.clock import PinnedTime
from tests.events import event
from tests.shared.kafka_helpers import from_start

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        await asyncio.sleep(0.05)


async def launched(pool: asyncpg.Pool, account_id: uuid.UUID, topic: str) -> uuid.UUID:
    template = await factories.template(pool, account_id)
    campaign = await factories.campaign(pool, account_id, template)
    await factories.launch(pool, account_id, campaign, topic)
    return campaign


def outcomes(
    account: uuid.UUID,
    campaign: uuid.UUID,
    kinds: Sequence[tuple[EventType, str | None]],
    at: datetime,
) -> list[EventBatch]:
    """Records of at most 50 events: one event per (type, bounce type), each a new lead."""
    events = [
        event(account, campaign, uuid.uuid4(), kind, at, bounce_type=bounce)
        for kind, bounce in kinds
    ]
    return [EventBatch(events=events[i : i + 50]) for i in range(0, len(events), 50)]


async def publish(producer: AIOKafkaProducer, topic: str, batches: list[EventBatch]) -> None:
    for batch in batches:
        first = batch.events[0]
        await producer.send_and_wait(topic, encode(batch), key=f"{first.campaign_id}".encode())


async def counted(pool: asyncpg.Pool, campaign: uuid.UUID) -> dict[str, Any]:
    row = await pool.fetchrow(
        "SELECT outcomes, delivered, bounced_hard, complained FROM guard_campaign_counts "
        "WHERE campaign_id = $1",
        campaign,
    )
    return dict(row) if row else {"outcomes": 0, "delivered": 0, "bounced_hard": 0, "complained": 0}


@pytest.fixture
async def guard(
    pool: asyncpg.Pool, settings: CommonSettings, producer: AIOKafkaProducer
) -> AsyncIterator[GuardConsumer]:
    """The guard in-process on the test's topics, its wall clock pinned at NOW."""
    config = Settings(common=settings, batch_max_seconds=0.1)
    consumer = GuardConsumer(config, pool, producer, clock=PinnedTime(NOW))
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    yield consumer
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest.mark.usefixtures("guard")
async def test_guard_counts_each_event_once_and_pauses_on_a_complaint_spike(
    pool: asyncpg.Pool, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    account = await factories.account(pool)
    lines = GuardThresholds(
        min_outcomes=100,
        complaint_rate=0.02,
        window_outcomes=200,
        window_complaint_rate=0.02,
        account_complaint_rate=0.05,
    )
    await save_thresholds(pool, account.id, lines)
    campaign = await launched(pool, account.id, topic_name(Topic.CAMPAIGN_LAUNCHES))
    clean = outcomes(account.id, campaign, [(EventType.DELIVERED, None)] * 300, NOW)
    sent = outcomes(account.id, campaign, [(EventType.SENT, None)] * 50, NOW)
    await publish(producer, topic, clean + sent + clean[:2])  # two records published twice
    await until(lambda: _reached(pool, campaign, 300), "300 outcomes counted")
    await asyncio.sleep(0.5)  # what the guard reads after: nothing more is counted
    expected = {"outcomes": 300, "delivered": 300, "bounced_hard": 0, "complained": 0}
    assert await counted(pool, campaign) == expected

    # a restarted guard handed every record again (its memory of ids empty) counts nothing
    group = Settings(common=settings).consumer_group
    restarted = GuardStep(pool, group, RecentIds(1000), PinnedTime(NOW))
    await restarted.write(await _batch_of_topic(settings, topic, restarted))
    assert (await counted(pool, campaign))["outcomes"] == 300

    spike = [(EventType.DELIVERED, None)] * 100 + [(EventType.COMPLAINED, None)] * 5
    await publish(producer, topic, outcomes(account.id, campaign, spike, NOW))

    async def paused() -> bool:
        state = await pool.fetchval("SELECT state FROM campaigns WHERE id = $1", campaign)
        return bool(state == "paused")

    await until(paused, "the campaign paused")
    row = await pool.fetchrow("SELECT * FROM campaigns WHERE id = $1", campaign)
    total = await counted(pool, campaign)
    assert (total["outcomes"], total["complained"]) == (400, 5)  # 1.25 %: under the 2 % line
    assert row["guard_reason"] == row["state_reason"]
    assert row["guard_reason"].startswith(
        "paused by guard: complaint rate 2.78 % over the last 180"
    )
    assert row["guard_reason"].endswith("(limit 2 %)")
    change = await pool.fetchrow(
        "SELECT action, reason FROM campaign_changes WHERE campaign_id = $1 ORDER BY id DESC "
        "LIMIT 1",
        campaign,
    )
    assert (change["action"], change["reason"]) == ("pause", row["guard_reason"])


@pytest.mark.usefixtures("guard")
async def test_account_line_pauses_every_campaign_but_the_overridden_one(
    pool: asyncpg.Pool, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    launches = topic_name(Topic.CAMPAIGN_LAUNCHES)
    account = await factories.account(pool)
    lines = GuardThresholds(min_outcomes=10_000, account_min_outcomes=100)  # account line only
    await save_thresholds(pool, account.id, lines)
    bouncing, idle, overridden = [await launched(pool, account.id, launches) for _ in range(3)]
    await pool.execute(  # as a resume with override_guard leaves it
        "UPDATE campaigns SET guard_override_at = now() WHERE id = $1", overridden
    )
    old = outcomes(
        account.id, idle, [(EventType.BOUNCED, "hard")] * 100, NOW - timedelta(hours=30)
    )  # a day and more ago: not in the account's last 24 h
    kinds = [(EventType.DELIVERED, None)] * 120 + [(EventType.BOUNCED, "hard")] * 30
    await publish(producer, topic, old + outcomes(account.id, bouncing, kinds, NOW))

    async def stopped() -> bool:
        states = await pool.fetch(
            "SELECT id, state FROM campaigns WHERE account_id = $1", account.id
        )
        return sum(bool(r["state"] == "paused") for r in states) == 2

    await until(stopped, "the account's campaigns paused")
    rows = {
        r["id"]: r
        for r in await pool.fetch("SELECT * FROM campaigns WHERE account_id = $1", account.id)
    }
    assert rows[overridden]["state"] == "queued" and rows[overridden]["guard_reason"] is None
    expected = (
        "paused by guard: account-wide hard-bounce rate 20 % over 150 outcomes of the account "
        "in the last 24 h (limit 10 %)"
    )
    assert rows[bouncing]["guard_reason"] == rows[idle]["guard_reason"] == expected


async def _reached(pool: asyncpg.Pool, campaign: uuid.UUID, outcomes_: int) -> bool:
    return bool((await counted(pool, campaign))["outcomes"] >= outcomes_)


async def _batch_of_topic(settings: CommonSettings, topic: str, step: GuardStep) -> Batch[Any]:
    """Every record of `topic` so far, decoded by `step`, as one batch."""
    batch: Batch[Any] = Batch()
    async with from_start(settings.kafka_bootstrap_servers, topic) as consumer:
        while polled := await consumer.getmany(timeout_ms=1000):
            for records in polled.values():
                for record in records:
                    run = batch.note(record, 0.0)
                    facts, weight = step.decode(record)
                    batch.add(run, record, facts, weight)
    return batch


async def test_the_consumers_of_email_events_fetch_in_bulk_as_the_sink_does(
    pool: asyncpg.Pool, settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    """The guard and the notifier ask the broker to answer once 1 MiB of events is there (or
    after 200 ms), as report_sink does: with 64 KiB they made 15,000 fetch requests of
    `email.events` per 300,000 emails, with 1 MiB about 4,000, and cost 10-13 % less CPU per
    email, the broker 15 % less (bench/results/20261204T1228Z-events-fetch-min)."""
    guard = GuardConsumer(Settings(common=settings), pool, producer)
    notifier = LeadEventsConsumer(NotifierSettings(common=settings), pool, producer)
    sink = SinkSettings(common=settings)
    for consumer in (guard, notifier):
        options = consumer._runner._opts.consumer  # noqa: SLF001 - what its consumer gets
        assert options.fetch_min_bytes == sink.fetch_min_bytes == 1024 * 1024
        assert options.fetch_max_wait_ms == sink.fetch_max_wait_ms == 200
