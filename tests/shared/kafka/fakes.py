"""A fake consumer, records and dead-letter producer: strategies under the runner, no broker.

Every commit and every dead letter is appended to one shared `journal`, so tests
can assert their order (a dead letter acknowledged before the commit past it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError

from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategy import StrategyFactory
from shared.settings import CommonSettings

TOPIC = "t.events"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
Journal = list[tuple[str, Any]]


@dataclass(frozen=True)
class FakeRecord:
    """A consumed record."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def records(tp: TopicPartition, values: list[bytes], start: int = 0) -> list[FakeRecord]:
    """Records of `tp` at consecutive offsets from `start`."""
    return [FakeRecord(tp.topic, tp.partition, start + i, v) for i, v in enumerate(values)]


@dataclass
class FakeConsumer:
    """Hands out queued records of assigned, unpaused partitions; journals commits."""

    journal: Journal
    initial: set[TopicPartition] = field(default_factory=lambda: {P0, P1})
    queued: dict[TopicPartition, list[FakeRecord]] = field(default_factory=dict)
    refuse_commits: int = 0  # the next N commits fail as after a rebalance
    listener: Any = None
    topics: list[str] = field(default_factory=list)
    ends: dict[TopicPartition, int] = field(default_factory=dict)  # high watermarks
    fetched_at: dict[TopicPartition, int] = field(default_factory=dict)  # last fetch responses
    _assigned: set[TopicPartition] = field(default_factory=set)
    _paused: set[TopicPartition] = field(default_factory=set)
    pauses: int = 0
    resumes: int = 0
    polls: int = 0
    stopped: bool = False

    def feed(self, batch: list[FakeRecord]) -> None:
        """Queue records to be polled."""
        for record in batch:
            tp = TopicPartition(record.topic, record.partition)
            self.queued.setdefault(tp, []).append(record)

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.topics, self.listener = topics, listener

    async def start(self) -> None:
        await self.rebalance(set(self.initial))

    async def stop(self) -> None:
        self.stopped = True

    async def rebalance(self, assigned: set[TopicPartition]) -> None:
        """What the group coordinator does: revoke everything, then assign `assigned`."""
        if self._assigned:
            await self.listener.on_partitions_revoked(set(self._assigned))
        self._assigned, self._paused = set(assigned), set()
        await self.listener.on_partitions_assigned(set(assigned))

    async def getmany(
        self, *, timeout_ms: int, max_records: int
    ) -> dict[TopicPartition, list[FakeRecord]]:
        self.polls += 1
        polled: dict[TopicPartition, list[FakeRecord]] = {}
        for tp in sorted(self._assigned - self._paused):
            take = self.queued.get(tp, [])[: max_records - sum(map(len, polled.values()))]
            if take:
                polled[tp] = take
                del self.queued[tp][: len(take)]
        if not polled:
            await asyncio.sleep(timeout_ms / 1000)
        return polled

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.refuse_commits:
            self.refuse_commits -= 1
            raise CommitFailedError("rebalanced (test)")
        self.journal.append(("commit", dict(offsets)))

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self.pauses += 1
        self._paused |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.resumes += 1
        self._paused -= set(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends.get(partition)

    def last_poll_timestamp(self, partition: TopicPartition) -> int | None:
        return self.fetched_at.get(partition)

    def commits(self) -> list[dict[TopicPartition, int]]:
        """The offsets of every commit, in order."""
        return [entry for kind, entry in self.journal if kind == "commit"]

    def latest(self) -> dict[TopicPartition, int]:
        """The last committed offset of every partition."""
        latest: dict[TopicPartition, int] = {}
        for commit in self.commits():
            latest.update(commit)
        return latest


@dataclass
class LetterBox:
    """A producer that journals the dead letters it is asked to send."""

    journal: Journal

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        self.journal.append(("letter", (topic, value, key)))


class Harness:
    """A runner of `strategy` on a fake consumer; commits after every step by default."""

    def __init__(
        self,
        strategy: StrategyFactory,
        initial: set[TopicPartition] | None = None,
        consumer: FakeConsumer | None = None,
        journal: Journal | None = None,
        consumers: Callable[[], FakeConsumer] | None = None,
        clock: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        if consumer is not None:
            journal = consumer.journal
        self.journal: Journal = journal if journal is not None else []
        self.consumer = consumer or FakeConsumer(self.journal, initial=initial or {P0, P1})
        opts = {"poll_timeout_ms": 1, "commit_interval_s": 0.0, **options}
        self.runner = Runner(
            common=CommonSettings(),
            group="g-test",
            topics=[TOPIC],
            strategy=strategy,
            producer=LetterBox(self.journal),
            options=RunnerOptions(**opts),
            consumer_factory=consumers or (lambda: self.consumer),
            broker_probe=self.probe,
            clock=clock,
        )
        self.broker_answers = True
        self.probes = 0
        self.probe_answers = asyncio.Event()  # cleared: a probe waits (a slow broker)
        self.probe_answers.set()

    async def probe(self) -> bool:
        """The broker probe of the runner's watchdog: answers as `broker_answers` says."""
        self.probes += 1
        await self.probe_answers.wait()
        return self.broker_answers

    def start(self) -> Running:
        """Run the runner as a task."""
        return Running(self.runner)

    def letters(self) -> list[tuple[str, bytes, bytes | None]]:
        """The dead letters sent, in order."""
        return [entry for kind, entry in self.journal if kind == "letter"]


class PinnedClock:
    """A monotonic clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def polled_again(consumer: FakeConsumer, times: int = 20) -> None:
    """Let the runner make `times` more polls (to show that something did NOT happen)."""
    target = consumer.polls + times
    await eventually(lambda: consumer.polls >= target)


async def eventually(condition: Callable[[], bool], steps: int = 5000) -> None:
    """Let the event loop run until `condition` holds (fails after `steps` short sleeps)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


class Running:
    """A runner as a task; `stop()` sets its event and returns what `run` raised, if anything."""

    def __init__(self, run: Runner) -> None:
        self.runner = run
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(run.run(self.stop_event))

    async def stop(self) -> BaseException | None:
        self.stop_event.set()
        try:
            await asyncio.wait_for(self.task, timeout=30)
        except Exception as exc:
            return exc
        return None
