"""The runner's own duties on a fake consumer: owned partitions, refused commits, lag, start."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from shared import metrics
from shared.errors import DependencyUnavailable
from shared.kafka.strategy import Context, KafkaRecord
from tests.shared.kafka.fakes import P0, P1, FakeConsumer, Harness, eventually


class Claims:
    """A strategy that says a fixed set of offsets is done, whatever it was given."""

    def __init__(self, _: Context, offsets: dict[TopicPartition, int]) -> None:
        self.offsets = offsets
        self.asked = 0

    def capacity(self) -> int:
        return 1

    def submit(self, record: KafkaRecord) -> None:
        raise AssertionError(f"no record expected, got {record}")

    async def poll(self) -> None:
        return None

    async def committable(self) -> dict[TopicPartition, int]:
        self.asked += 1
        return dict(self.offsets)

    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None:
        assert timeout > 0 and partitions != set()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        for tp in partitions:
            self.offsets.pop(tp, None)

    async def close(self) -> None:
        return None


async def test_commit_only_partitions_this_consumer_owns() -> None:
    kafka = Harness(lambda ctx: Claims(ctx, {P0: 4, P1: 9}), initial={P0})
    consumer = kafka.consumer
    running = kafka.start()
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert consumer.commits() == [{P0: 4}], "P1 is not ours; P0 is committed once"


async def test_commit_refused_by_a_rebalance_is_made_next_time() -> None:
    consumer = FakeConsumer([], initial={P0}, refuse_commits=2)
    running = Harness(lambda ctx: Claims(ctx, {P0: 4}), consumer=consumer).start()
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert consumer.commits() == [{P0: 4}]


async def test_lag_is_the_distance_from_the_commit_to_the_end() -> None:
    consumer = FakeConsumer([], initial={P0, P1}, ends={P0: 10, P1: 5})
    running = Harness(lambda ctx: Claims(ctx, {P0: 4, P1: 5}), consumer=consumer).start()
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    assert metrics.CONSUMER_LAG.labels("g-test")._value.get() == 6


async def test_broker_down_at_start_names_the_setting() -> None:
    class Down(FakeConsumer):
        async def start(self) -> None:
            raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)]")

    running = Harness(lambda ctx: Claims(ctx, {}), consumer=Down([])).start()
    with pytest.raises(DependencyUnavailable) as caught:
        await running.task
    assert caught.value.setting == "FANOUT_KAFKA_BOOTSTRAP_SERVERS"
    assert "\n" not in str(caught.value)
