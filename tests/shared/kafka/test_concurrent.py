"""The concurrent strategy under the runner, on a fake consumer: watermarks, slots, revocation."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

from shared.kafka.deadletter import DeadLetterQueue
from shared.kafka.liveness import ConsumerState
from shared.kafka.strategies.concurrent import Concurrent
from shared.kafka.strategy import Context, InvalidMessage, KafkaRecord, StrategyFactory
from tests.shared.kafka.fakes import (
    P0,
    P1,
    FakeConsumer,
    FakeRecord,
    Harness,
    Journal,
    LetterBox,
    Running,
    eventually,
    polled_again,
    records,
)


class Gates:
    """Work that waits until the test opens the gate of its (partition, offset)."""

    def __init__(self) -> None:
        self.journal: Journal = []  # the harness's too: flushes and commits in order
        self.gates: dict[tuple[int, int], asyncio.Event] = {}
        self.started: list[tuple[int, int]] = []

    def gate(self, partition: int, offset: int) -> asyncio.Event:
        return self.gates.setdefault((partition, offset), asyncio.Event())

    def open(self, partition: int, *offsets: int) -> None:
        for offset in offsets:
            self.gate(partition, offset).set()

    async def __call__(self, record: KafkaRecord) -> None:
        self.started.append((record.partition, record.offset))
        await self.gate(record.partition, record.offset).wait()
        if record.value == b"invalid":
            raise InvalidMessage("no such campaign (test)")
        if record.value == b"bug":
            raise KeyError("a bug (test)")

    async def flush(self) -> None:
        """The before-commit hook (the sender's tallies)."""
        self.journal.append(("flush", None))


def concurrent(work: Gates, max_in_flight: int = 10) -> StrategyFactory:
    def make(ctx: Context) -> Concurrent:
        return Concurrent(ctx, work=work, max_in_flight=max_in_flight, before_commit=work.flush)

    return make


def start(
    feed: list[FakeRecord],
    *,
    opened: bool = False,
    initial: frozenset[TopicPartition] = frozenset({P0}),
    max_in_flight: int = 10,
    **options: Any,
) -> tuple[Gates, FakeConsumer, Running]:
    """A running harness fed `feed`, whose gates are all `opened` or all closed."""
    work = Gates()
    strategy = concurrent(work, max_in_flight)
    kafka = Harness(strategy, journal=work.journal, initial=set(initial), **options)
    kafka.consumer.feed(feed)
    for record in feed if opened else []:
        work.open(record.partition, record.offset)
    return work, kafka.consumer, kafka.start()


async def test_commit_stops_below_the_first_record_in_flight() -> None:
    work, consumer, running = start(records(P0, [b"a"] * 4))
    await eventually(lambda: len(work.started) == 4)
    work.open(0, 1, 2)  # offset 0 still in flight: a gap below them
    await polled_again(consumer)
    assert consumer.commits() == []
    work.open(0, 0)
    await eventually(lambda: {P0: 3} in consumer.commits())
    work.open(0, 3)
    await eventually(lambda: {P0: 4} in consumer.commits())
    assert await running.stop() is None
    assert consumer.commits() == [{P0: 3}, {P0: 4}]


async def test_tallies_flushed_before_offsets_committed() -> None:
    work, consumer, running = start(records(P0, [b"a"]), opened=True)
    await eventually(lambda: bool(consumer.commits()))
    assert await running.stop() is None
    first_commit = work.journal.index(("commit", {P0: 1}))
    assert ("flush", None) in work.journal[:first_commit]


async def test_full_strategy_is_waited_for_without_polling_until_a_slot_frees() -> None:
    """Neither paused nor polled: aiokafka would drop what it fetched for a paused partition."""
    feed = records(P0, [b"a"] * 3) + records(P1, [b"a"] * 3)
    work, consumer, running = start(feed, initial=frozenset({P0, P1}), max_in_flight=2)
    await eventually(lambda: len(work.started) == 2)
    polls = consumer.polls
    await asyncio.sleep(0.05)  # ten looks at the full strategy
    assert consumer.polls <= polls + 1, "at most the poll under way when it filled up"
    assert len(work.started) == 2 and consumer.pauses == 0
    assert running.runner.health().state is ConsumerState.BACKPRESSURE
    work.open(0, 0)
    await eventually(lambda: len(work.started) == 3)
    for partition in (0, 1):
        work.open(partition, 0, 1, 2)
    await eventually(lambda: consumer.latest() == {P0: 3, P1: 3})
    assert await running.stop() is None
    assert consumer.pauses == 0 and len(work.started) == 6


async def test_strategy_full_past_pause_after_is_paused_and_polled_until_a_slot_frees() -> None:
    feed = records(P0, [b"a"] * 3) + records(P1, [b"a"] * 3)
    work, consumer, running = start(
        feed, initial=frozenset({P0, P1}), max_in_flight=2, pause_after_s=0.02
    )
    await eventually(lambda: len(work.started) == 2 and consumer.paused() == {P0, P1})
    await polled_again(consumer)
    assert len(work.started) == 2, "nothing more is taken while the slots are full"
    work.open(0, 0)
    await eventually(lambda: len(work.started) == 3)
    for partition in (0, 1):
        work.open(partition, 0, 1, 2)
    await eventually(lambda: len(work.started) == 6)
    await eventually(lambda: consumer.latest() == {P0: 3, P1: 3})
    assert await running.stop() is None
    assert consumer.pauses >= 1 and consumer.resumes >= 1


async def test_revoke_waits_for_work_in_flight_then_commits_it() -> None:
    feed = records(P0, [b"a"] * 2) + records(P1, [b"a"])
    work, consumer, running = start(feed, initial=frozenset({P0, P1}), drain_timeout_s=30)
    await eventually(lambda: len(work.started) == 3)
    revoking = asyncio.create_task(consumer.rebalance({P1}))
    for _ in range(100):  # let the revocation run as far as it can
        await asyncio.sleep(0)
    assert not revoking.done(), "the revocation waits for the records in flight"
    assert consumer.commits() == []
    work.open(0, 0, 1)
    work.open(1, 0)
    await revoking
    assert consumer.latest() == {P0: 2, P1: 1}
    assert await running.stop() is None


async def test_revoke_abandons_work_after_the_drain_timeout() -> None:
    work, consumer, running = start(records(P0, [b"a"]), drain_timeout_s=0.01)
    await eventually(lambda: len(work.started) == 1)
    await consumer.rebalance({P1})
    assert consumer.commits() == [], "abandoned work is never committed"
    assert await running.stop() is None


async def test_invalid_record_dead_lettered_and_committed() -> None:
    work, consumer, running = start(records(P0, [b"invalid", b"a"]), opened=True)
    await eventually(lambda: consumer.latest() == {P0: 2})
    assert await running.stop() is None
    letters = [entry for kind, entry in work.journal if kind == "letter"]
    assert len(letters) == 1 and b"no such campaign" in letters[0][1]


async def test_crashed_work_stops_the_runner_without_committing_it() -> None:
    _, consumer, running = start(records(P0, [b"bug"]), opened=True)
    await eventually(running.task.done)
    assert isinstance(await running.stop(), RuntimeError)
    assert consumer.commits() == []


async def test_room_returns_when_a_slot_frees_not_after_its_timeout() -> None:
    work = Gates()
    strategy = concurrent(work, max_in_flight=1)(
        Context("g-room", DeadLetterQueue(LetterBox([]), "g"))
    )
    (record,) = records(P0, [b"a"])
    strategy.submit(record)
    await eventually(lambda: work.started == [(0, 0)])
    loop = asyncio.get_running_loop()
    started = loop.time()
    await strategy.room(0.05)
    assert loop.time() - started >= 0.05 and strategy.capacity() == 0, "full: the timeout"
    waiting = asyncio.create_task(strategy.room(60))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    work.open(0, 0)
    await asyncio.wait_for(waiting, 1)  # woken by the finished work, not the 60 s
    assert strategy.capacity() == 1
    await strategy.room(60)  # room already: no wait
