"""Putting a page on Kafka and waiting until Kafka acknowledged all of it.

A page is its send batches (on `email.sends`) and the `excluded` events of the leads
it left out (on `email.events`); the checkpoint moves only after every one of them
was acknowledged, so a crash before that emits the page again, never loses part of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.lead_resolver.batcher import Page
from services.lead_resolver.exclusions import excluded_events
from shared import metrics
from shared.contracts import EventType, encode
from shared.contracts.fast_events import types_header
from shared.contracts.fast_sends import FastSendBatch, encode_sends


async def emit(producer: AIOKafkaProducer, topic: str, batches: Sequence[FastSendBatch]) -> None:
    """Send every batch (keyed campaign id + batch number) and await every acknowledgement."""
    acks = [await producer.send(topic, encode_sends(b), key=b.key()) for b in batches]
    await asyncio.gather(*acks)
    metrics.BATCHES_EMITTED.inc(len(batches))


async def emit_page(
    producer: AIOKafkaProducer, sends_topic: str, events_topic: str, page: Page
) -> None:
    """Send a page's batches and its `excluded` events; await every acknowledgement."""
    values = excluded_events(
        page.excluded,
        campaign_id=page.campaign_id,
        account_id=page.account_id,
        at=datetime.now(UTC),
    )
    headers = types_header([EventType.EXCLUDED])
    acks = [
        await producer.send(events_topic, encode(v), key=v.key(), headers=headers) for v in values
    ]
    await emit(producer, sends_topic, page.batches)
    await asyncio.gather(*acks)
