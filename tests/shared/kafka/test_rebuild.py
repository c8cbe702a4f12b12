"""The watchdog's rebuild on the real broker: a consumer that silently stops is replaced.

The first consumer is aiokafka's, made to behave as the stuck ones of
aio-libs/aiokafka#703 and #1154: after handing out some records it returns
nothing more and its fetch responses stop (`last_poll_timestamp` frozen), while
the broker answers. The runner (pinned clock) must retire it, committing what
its work finished, and a new consumer must read the rest from the committed
offsets: every record worked on, the first ones once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared import metrics
from shared.kafka.admin import delete_topics, ensure_topics
from shared.kafka.consumer import ConsumerOptions, ConsumerPort, make_consumer
from shared.kafka.producer import open_producer
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.concurrent import Concurrent
from shared.kafka.strategy import KafkaRecord
from shared.settings import CommonSettings
from tests.shared.kafka.fakes import PinnedClock, eventually

pytestmark = pytest.mark.kafka

RECORDS = 200
STUCK_AFTER = 60  # records the first consumer hands out before it stops
STALL_S = 30.0


class Stuck(AIOKafkaConsumer):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka's consumer that stops handing out records and fetching after `after`."""

    def __init__(self, after: int, **options: Any) -> None:
        super().__init__(**options)
        self._left = after
        self._frozen: dict[TopicPartition, int | None] = {}

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        if self._left <= 0:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        polled = await super().getmany(timeout_ms=timeout_ms, max_records=min(max_records, 10))
        self._left -= sum(map(len, polled.values()))
        return dict(polled)

    def last_poll_timestamp(self, partition: TopicPartition) -> int | None:
        if self._left > 0:
            self._frozen[partition] = super().last_poll_timestamp(partition)
        return self._frozen.get(partition)


@pytest.fixture
async def topic(base_settings: CommonSettings, topic_prefix: str) -> AsyncIterator[str]:
    name = f"{topic_prefix}rebuild"
    await ensure_topics(base_settings, [(name, 3)])
    async with open_producer(base_settings) as producer:
        acks = [await producer.send(name, b"x", key=str(n).encode()) for n in range(RECORDS)]
        await asyncio.gather(*acks)
    yield name
    await delete_topics(base_settings, [name])


async def test_stuck_consumer_is_rebuilt_and_the_rest_read_from_commits(
    base_settings: CommonSettings, topic: str, topic_prefix: str
) -> None:
    group = f"{topic_prefix}rebuild"
    made: list[ConsumerPort] = []
    options = ConsumerOptions(session_timeout_ms=10_000)

    def consumers() -> ConsumerPort:
        if made:
            made.append(make_consumer(base_settings, group, options))
        else:
            settings = {
                "bootstrap_servers": base_settings.kafka_bootstrap_servers,
                "group_id": group,
                "enable_auto_commit": False,
                "auto_offset_reset": "earliest",
            }
            made.append(Stuck(STUCK_AFTER, **settings))
        return made[-1]

    worked: Counter[bytes] = Counter()

    async def work(record: KafkaRecord) -> None:
        assert record.key is not None
        worked[record.key] += 1

    clock = PinnedClock()
    rebuilt = metrics.CONSUMER_REBUILDS.labels(group)._value.get()
    async with open_producer(base_settings) as producer:
        runner = Runner(
            common=base_settings,
            group=group,
            topics=[topic],
            strategy=lambda ctx: Concurrent(ctx, work=work, max_in_flight=50),
            producer=producer,
            options=RunnerOptions(stall_after_s=STALL_S, commit_interval_s=0),
            consumer_factory=consumers,
            clock=clock,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(runner.run(stop))
        try:
            await eventually(lambda: len(worked) >= STUCK_AFTER, steps=30_000)
            await asyncio.sleep(1)  # the stuck consumer polls on, handing out nothing
            assert len(worked) < RECORDS
            clock.now += STALL_S + 1
            await eventually(lambda: len(worked) == RECORDS, steps=120_000)
        finally:
            stop.set()
            await asyncio.wait_for(running, 60)
    assert len(made) == 2
    assert metrics.CONSUMER_REBUILDS.labels(group)._value.get() == rebuilt + 1
    assert set(worked) == {str(n).encode() for n in range(RECORDS)}
    first = [key for key, times in worked.items() if times > 1]
    assert not first, f"{len(first)} records worked twice: their commit was lost"
