"""Sending a record a consumer refuses to its dead-letter topic, and a stoppable sleep."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.contracts.base import encode
from shared.contracts.deadletter import DeadLetter
from shared.topics import dead_letter_name


async def send_dead_letter(producer: AIOKafkaProducer, raw: Any, error: str, group: str) -> None:
    """Put `raw` (an aiokafka ConsumerRecord) and `error` on its topic's dead-letter topic."""
    letter = DeadLetter(
        source_topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode(errors="replace") if raw.key is not None else None,
        value=(raw.value or b"").decode(errors="replace"),
        error=error,
        consumer_group=group,
        failed_at=datetime.now(UTC),
    )
    await producer.send_and_wait(dead_letter_name(raw.topic), encode(letter), key=raw.key)
    metrics.DEAD_LETTERED.labels(group, raw.topic).inc()


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
