"""The runner's own duties on a fake consumer: owned partitions, refused commits, lag, start,
and its watchdog: a consumer that stops making progress is rebuilt once the broker answers."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError

from shared import metrics
from shared.errors import DependencyUnavailable
from shared.kafka.commits import Committer
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.runner import ConsumerNotConsuming, RunnerOptions
from shared.kafka.strategy import Context, KafkaRecord
from tests.shared.kafka.fakes import (
    P0,
    P1,
    FakeConsumer,
    FakeRecord,
    Harness,
    PinnedClock,
    eventually,
    polled_again,
)


class Claims:
    """A strategy that says a fixed set of offsets is done, whatever it was given."""

    def __init__(self, _: Context, offsets: dict[TopicPartition, int]) -> None:
        self.offsets = offsets
        self.asked = 0

    def capacity(self) -> int:
        return 1

    async def room(self, timeout: float) -> None:
        raise AssertionError(f"never full: never waited for ({timeout} s)")

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
    assert _lag("g-test") == {P0.partition: 6, P1.partition: 0}


def _lag(group: str) -> dict[int, float]:
    """The lag series of `group` this process exports, by partition."""
    (family,) = metrics.CONSUMER_LAG.collect()
    return {
        int(s.labels["partition"]): s.value for s in family.samples if s.labels["group"] == group
    }


async def test_revoked_partition_lag_is_no_longer_exported() -> None:
    consumer = FakeConsumer([], ends={P0: 10, P1: 8}, _assigned={P0, P1})
    committer = Committer("g-revoke", interval_s=0)
    await committer.commit(consumer, {P0: 4, P1: 5})
    assert _lag("g-revoke") == {P0.partition: 6, P1.partition: 3}
    committer.forget({P1})
    committer.forget({P1})  # twice: nothing left to remove, no error
    assert _lag("g-revoke") == {P0.partition: 6}


async def test_broker_down_at_start_names_the_setting() -> None:
    class Down(FakeConsumer):
        async def start(self) -> None:
            raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)]")

    running = Harness(lambda ctx: Claims(ctx, {}), consumer=Down([])).start()
    with pytest.raises(DependencyUnavailable) as caught:
        await running.task
    assert caught.value.setting == "FANOUT_KAFKA_BOOTSTRAP_SERVERS"
    assert "\n" not in str(caught.value)


class Rebuilds:
    """Consumers for a runner that may rebuild its consumer: each call a new fake."""

    def __init__(self, journal: list[tuple[str, object]]) -> None:
        self.journal = journal
        self.made: list[FakeConsumer] = []

    def __call__(self) -> FakeConsumer:
        self.made.append(FakeConsumer(self.journal, initial={P0}))
        return self.made[-1]


def _stalling(broker_answers: bool) -> tuple[Harness, Rebuilds, PinnedClock]:
    """A runner whose consumer got P0 and then never hears from the broker again."""
    journal: list[tuple[str, object]] = []
    consumers, clock = Rebuilds(journal), PinnedClock()
    kafka = Harness(
        lambda ctx: Claims(ctx, {P0: 4}),
        journal=journal,
        consumers=consumers,
        clock=clock,
        stall_after_s=30.0,
    )
    kafka.broker_answers = broker_answers
    return kafka, consumers, clock


async def test_stalled_consumer_is_rebuilt_when_broker_answers() -> None:
    kafka, consumers, clock = _stalling(broker_answers=True)
    rebuilt = metrics.CONSUMER_REBUILDS.labels("g-test")._value.get()
    running = kafka.start()
    await eventually(lambda: bool(consumers.made[0].commits()))
    assert await kafka.runner.check() == "fetching, 1 partitions, last progress 0 s ago"

    clock.now += 31
    await eventually(lambda: len(consumers.made) == 2 and kafka.runner.assignment == {P0})
    assert await running.stop() is None
    first, second = consumers.made
    assert first.stopped and kafka.runner.consumer is second
    assert metrics.CONSUMER_REBUILDS.labels("g-test")._value.get() == rebuilt + 1
    assert first.commits() == [{P0: 4}], "what was done is committed once, by the first"


async def test_stalled_consumer_is_kept_while_broker_is_down() -> None:
    kafka, consumers, clock = _stalling(broker_answers=False)
    running = kafka.start()
    await eventually(lambda: kafka.runner.assignment == {P0})
    clock.now += 31
    with pytest.raises(ConsumerNotConsuming, match="stalled: fetching, 1 partitions"):
        await kafka.runner.check()
    await eventually(lambda: kafka.probes >= 1)
    await polled_again(consumers.made[0])
    assert len(consumers.made) == 1 and not consumers.made[0].stopped
    assert kafka.probes == 1, "the outage restarted the clock: no probe until it runs out again"
    assert await kafka.runner.check()
    assert await running.stop() is None


async def test_poll_error_is_survived_and_left_to_watchdog() -> None:
    class Broken(FakeConsumer):
        async def getmany(
            self,
            *,
            timeout_ms: int,  # noqa: ARG002
            max_records: int,  # noqa: ARG002
        ) -> dict[TopicPartition, list[FakeRecord]]:
            self.polls += 1
            raise KafkaError("Unexpected error during coordination")

    consumer = Broken([], initial={P0})
    running = Harness(lambda ctx: Claims(ctx, {}), consumer=consumer).start()
    await eventually(lambda: consumer.polls >= 2, steps=5000)
    assert not running.task.done()
    assert await running.stop() is None


def test_a_full_strategy_is_paused_in_time_to_keep_its_group_membership() -> None:
    """Waiting for room does not poll; it must end well before max_poll_interval_ms."""
    assert RunnerOptions().hold_full_s == 30.0
    short = RunnerOptions(pause_after_s=600, consumer=ConsumerOptions(max_poll_interval_ms=60_000))
    assert short.hold_full_s == 30.0
    assert RunnerOptions(pause_after_s=0).hold_full_s == 0
