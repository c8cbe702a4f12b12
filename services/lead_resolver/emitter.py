"""Putting send batches on `email.sends` and waiting until Kafka acknowledged all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from shared import metrics
from shared.contracts import SendBatch, encode


async def emit(producer: AIOKafkaProducer, topic: str, batches: Sequence[SendBatch]) -> None:
    """Send every batch (keyed campaign id + batch number) and await every acknowledgement."""
    acks = [await producer.send(topic, encode(b), key=b.key()) for b in batches]
    await asyncio.gather(*acks)
    metrics.BATCHES_EMITTED.inc(len(batches))
