"""The producer every service uses.

aiokafka's defaults are wrong for Fanout: `acks=1` can lose acknowledged
records on leader failover, and `linger_ms=0` with 16 KB batches makes many
tiny requests. Here: idempotence (implies acks=all), lz4 compression, a short
linger and large batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.kafka import kafka_unreachable
from shared.settings import CommonSettings


def make_producer(common: CommonSettings, **overrides: Any) -> AIOKafkaProducer:
    """A started-later producer with durable, batching defaults; `overrides` win."""
    options: dict[str, Any] = {
        "bootstrap_servers": common.kafka_bootstrap_servers,
        "enable_idempotence": True,
        "acks": "all",
        "compression_type": "lz4",
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "request_timeout_ms": 30_000,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


@asynccontextmanager
async def open_producer(
    common: CommonSettings, **overrides: Any
) -> AsyncIterator[AIOKafkaProducer]:
    """A started producer for the length of the block; `DependencyUnavailable` when the
    broker does not answer. Stopping flushes what is still buffered."""
    producer = make_producer(common, **overrides)
    try:
        await producer.start()
    except (KafkaError, OSError) as exc:
        await producer.stop()
        raise kafka_unreachable(common.kafka_bootstrap_servers, f"producer: {exc!r}") from exc
    try:
        yield producer
    finally:
        await producer.stop()
