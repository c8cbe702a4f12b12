"""Helpers for tests on the real broker: make valid events, read a topic to its end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer

from shared.contracts.events import EmailEvent, EventBatch, EventType
from shared.settings import CommonSettings

ACCOUNT = uuid.UUID("3d2e1f00-aaaa-4bbb-8ccc-000000000001")
CAMPAIGN = uuid.UUID("6f1c7f7e-5b0a-4c1e-9a53-3b7a5d2f9c10")


def sent_event(n: int) -> EventBatch:
    """A valid one-event batch whose event id is derived from `n`."""
    lead = uuid.uuid5(CAMPAIGN, f"lead-{n}")
    return EventBatch(
        events=[
            EmailEvent(
                event_id=uuid.uuid5(ACCOUNT, f"event-{n}"),
                account_id=ACCOUNT,
                campaign_id=CAMPAIGN,
                lead_id=lead,
                email=f"lead{n}@example.com",
                type=EventType.SENT,
                provider="simulator",
                occurred_at=datetime.now(UTC),
            )
        ]
    )


async def read_all(
    settings: CommonSettings, topic: str, expected: int, timeout_ms: int = 10_000
) -> list[bytes]:
    """Read `topic` from the beginning until `expected` values arrived (or timeout)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < expected:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                break
            values += [r.value for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return values
