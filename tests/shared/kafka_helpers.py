"""Helpers for tests on the real broker: make valid events, read a topic from its start."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer

from shared.contracts.events import EventBatch, EventType
from shared.settings import CommonSettings
from tests.events import event

ACCOUNT = uuid.UUID("3d2e1f00-aaaa-4bbb-8ccc-000000000001")
CAMPAIGN = uuid.UUID("6f1c7f7e-5b0a-4c1e-9a53-3b7a5d2f9c10")


def sent_event(n: int) -> EventBatch:
    """A valid one-event batch whose event id is derived from `n`."""
    lead = uuid.uuid5(CAMPAIGN, f"lead-{n}")
    at = datetime.now(UTC)
    email = f"lead{n}@example.com"
    return EventBatch(
        events=[event(ACCOUNT, CAMPAIGN, lead, EventType.SENT, at, email=email, key=str(n))]
    )


@asynccontextmanager
async def from_start(bootstrap_servers: str, topic: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer of `topic` from its first record, without a group's commits."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def read_until(
    bootstrap_servers: str, topic: str, enough: Callable[[list[bytes]], bool], timeout_ms: int
) -> list[bytes]:
    """Read `topic` from the beginning until `enough(values)`, or nothing came for `timeout_ms`."""
    values: list[bytes] = []
    async with from_start(bootstrap_servers, topic) as consumer:
        while not enough(values):
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                break
            values += [r.value for rs in batch.values() for r in rs]
    return values


async def read_all(
    settings: CommonSettings, topic: str, expected: int, timeout_ms: int = 10_000
) -> list[bytes]:
    """Read `topic` from the beginning until `expected` values arrived (or timeout)."""
    servers = settings.kafka_bootstrap_servers
    return await read_until(servers, topic, lambda values: len(values) >= expected, timeout_ms)
