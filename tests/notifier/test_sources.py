"""Where deliveries come from: campaign moves (the change log) and `email.events`.

A campaign's launch and completion become deliveries with the campaign's summary (its
send accounting and the provider feedback counted so far); provider feedback read from
the real broker becomes a lead delivery, applied once however often Kafka delivers it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.notifier.campaign_changes import drain_once
from services.notifier.config import Settings
from services.notifier.consumer import LeadEventsConsumer
from services.notifier.lead_events import LeadEventsStep
from shared.campaigns.completion import complete_if_accounted
from shared.contracts import EventBatch, EventType, encode
from shared.kafka.strategies.batch import Batch
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests import factories
from tests.events import event
from tests.notifier.conftest import Notifier
from tests.notifier.receiver import Receiver

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Record:
    """A consumed record, as the batched strategy hands it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def feedback(account: uuid.UUID, campaign: uuid.UUID, *kinds: EventType) -> EventBatch:
    """One batch with an event of each of `kinds` (one lead each)."""
    return EventBatch(
        events=[
            event(
                account,
                campaign,
                uuid.uuid4(),
                kind,
                datetime.now(UTC),
                email=f"lead{n}@example.com",
                reason="mailbox unknown" if kind == EventType.BOUNCED else "",
            )
            for n, kind in enumerate(kinds)
        ]
    )


def batch_of(step: LeadEventsStep, *values: EventBatch, offset: int = 0) -> Batch[Any]:
    """The batch the strategy would write for `values` at consecutive offsets."""
    batch: Batch[Any] = Batch()
    for n, value in enumerate(values):
        record = Record("t.email.events", 0, offset + n, None, encode(value))
        events, weight = step.decode(record)
        batch.add(batch.note(record, 0.0), record, events, weight)
    return batch


async def test_a_completed_campaign_is_told_with_its_summary(
    notifier: Notifier, receiver: Receiver
) -> None:
    pool, account = notifier.pool, notifier.account
    _, secret = await notifier.endpoint(receiver.url, "campaign.launched", "campaign.completed")
    campaign = await factories.campaign(pool, account)
    await factories.launch(pool, account, campaign, topic="unused")
    step = LeadEventsStep(pool, f"g{uuid.uuid4().hex[:6]}", per_delivery=100)
    bounces = feedback(account, campaign, EventType.BOUNCED, EventType.BOUNCED)
    await step.write(batch_of(step, bounces))
    await pool.execute(
        "UPDATE campaigns SET state = 'sending', resolve_done = true, matched = 2, excluded = 2 "
        "WHERE id = $1",
        campaign,
    )
    assert await complete_if_accounted(pool, [campaign]) == [campaign]

    while await drain_once(pool):
        pass
    notifier.clock.catch_up()
    await notifier.dispatcher.dispatch_once()

    launched, completed = (got.verify(secret) for got in receiver.received)
    assert launched["type"] == "campaign.launched"  # type: ignore[index]
    assert completed["type"] == "campaign.completed"  # type: ignore[index]
    data = completed["data"]  # type: ignore[index]
    assert (data["campaign_id"], data["state"]) == (str(campaign), "completed")
    assert data["summary"]["matched"] == 2 and data["summary"]["excluded"] == 2
    assert data["summary"]["bounced"] == 2 and data["summary"]["delivered"] == 0


async def test_a_batch_read_twice_is_applied_once(notifier: Notifier, receiver: Receiver) -> None:
    pool, account = notifier.pool, notifier.account
    endpoint, _ = await notifier.endpoint(receiver.url, "lead.bounced", "lead.complained")
    campaign = uuid.uuid4()
    step = LeadEventsStep(pool, f"g{uuid.uuid4().hex[:6]}", per_delivery=2)
    events = feedback(
        account,
        campaign,
        EventType.BOUNCED,
        EventType.BOUNCED,
        EventType.BOUNCED,
        EventType.COMPLAINED,
        EventType.DELIVERED,  # not subscribed
        EventType.SENT,  # not a lead webhook
    )
    await step.write(batch_of(step, events))
    await step.write(batch_of(step, events))  # a redelivery after a rebalance

    rows = await pool.fetch(
        "SELECT event_type, events FROM webhook_deliveries WHERE endpoint_id = $1 "
        "ORDER BY event_type, events",
        endpoint,
    )
    assert [(r["event_type"], r["events"]) for r in rows] == [
        ("lead.bounced", 1),
        ("lead.bounced", 2),
        ("lead.complained", 1),
    ]
    counts = await pool.fetchrow(
        "SELECT bounced, complained, delivered FROM campaign_feedback_counts "
        "WHERE campaign_id = $1",
        campaign,
    )
    assert counts is not None and tuple(counts) == (3, 1, 1)


@pytest.mark.kafka
async def test_feedback_on_the_broker_becomes_a_lead_delivery(
    notifier: Notifier,
    receiver: Receiver,
    settings: CommonSettings,
    producer: AIOKafkaProducer,
) -> None:
    pool, account = notifier.pool, notifier.account
    endpoint, _ = await notifier.endpoint(receiver.url, "lead.unsubscribed")
    batch = feedback(account, uuid.uuid4(), EventType.UNSUBSCRIBED)
    topic = topic_name(Topic.EMAIL_EVENTS, settings.topic_prefix)
    await producer.send_and_wait(topic, encode(batch), key=batch.key())
    consumer = LeadEventsConsumer(Settings(common=settings), pool, producer)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        async with asyncio.timeout(60):
            while not await pool.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", endpoint
            ):
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await running
    body = await pool.fetchval(
        "SELECT body FROM webhook_deliveries WHERE endpoint_id = $1", endpoint
    )
    assert str(batch.events[0].event_id) in body
