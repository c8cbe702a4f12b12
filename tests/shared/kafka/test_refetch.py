"""A full strategy on the real broker: what the consumer fetched is not fetched again.

aiokafka drops the records it has fetched for a partition when the partition is paused,
and the broker sends them again after the resume. The runner paused at every full moment
until round 10 of issue 17, and the sender's consumer read `email.sends` 33 times over.
Measured with the broker's own per-topic counters (JMX, `fanout_cli/bench/kafka_load.py`),
as the benchmark measures it.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from aiokafka import AIOKafkaProducer

from fanout_cli.bench import kafka_load
from fanout_cli.stack.orchestrate import broker
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.concurrent import Concurrent
from shared.kafka.strategy import KafkaRecord
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name

pytestmark = pytest.mark.kafka
RECORDS = 240
RECORD_BYTES = 4096  # random bytes: the codec cannot shrink them, so bytes are records


async def _consume_slowly(settings: CommonSettings, producer: AIOKafkaProducer, topic: str) -> int:
    """Run a two-slot strategy over `topic` until every record was worked on; the count."""
    done: list[int] = []

    async def work(record: KafkaRecord) -> None:
        await asyncio.sleep(0.002)
        done.append(record.offset)

    runner = Runner(
        common=settings,
        group=f"{topic}.refetch",
        topics=[topic],
        strategy=lambda ctx: Concurrent(ctx, work=work, max_in_flight=2),
        producer=producer,
        options=RunnerOptions(),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(60):
            while len(done) < RECORDS:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    return len(done)


async def test_a_full_strategy_fetches_each_record_once(
    settings: CommonSettings, producer: AIOKafkaProducer
) -> None:
    topic = topic_name(Topic.EMAIL_SENDS, settings.topic_prefix)
    before = await kafka_load.snapshot(broker(settings).process.pid())
    assert not isinstance(before, str), before
    sent = [await producer.send(topic, os.urandom(RECORD_BYTES)) for _ in range(RECORDS)]
    await asyncio.gather(*sent)
    assert await _consume_slowly(settings, producer, topic) == RECORDS
    load = kafka_load.difference(before, await kafka_load.snapshot(broker(settings).process.pid()))
    meters = load.topics[topic]
    assert meters["records_in"] == RECORDS
    assert meters["bytes_in"] >= RECORDS * RECORD_BYTES
    # one consumer group: each byte out once, plus what a rebalance at the start re-reads
    assert meters["bytes_out"] <= 1.25 * meters["bytes_in"], meters
