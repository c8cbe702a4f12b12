"""The consumer runner every Kafka-consuming service runs; its work is a strategy.

One step, readable top to bottom:

    strategy.poll() → full? wait for room (a long wait: pause partitions)
                    : resume them → getmany(≤ capacity)
      → strategy.submit(record) for each record → every commit interval:
        strategy.committable() → dead letters flushed → commit (owned partitions only)
      → no progress for `stall_after_s` and the broker answers? rebuild the consumer

The runner owns everything that is the same for every consumer: building the
consumer, the rebalance listener, commits (manual, last, throttled, bounded in
time), the dead-letter queue and backpressure. A full strategy is first waited
for without polling: aiokafka keeps at most one fetched response per partition
buffered and fetches no more for it until it is consumed, so nothing is read
twice. Pausing is for a long wait only (`pause_after_s`): the consumer must poll
within `max_poll_interval_ms` to stay in its group and a paused one keeps
polling, but aiokafka drops what it had fetched for a paused partition and the
broker sends it again on resume. Pausing at every full moment had the sender's
consumer read `email.sends` 33 times over (1,046 MB fetched for 31 MB written in
a 300k run, bench/results/20261203T1930Z-kafka-refetch). On revocation it joins
the strategy's work on the revoked partitions (bounded), commits it, then forgets
them; on stop (an `asyncio.Event`, set by the signal handler) it joins everything,
commits and leaves the group.

Recovery: the runner watches its consumer (`shared.kafka.liveness`, also what
`/readyz` reports). When it made no progress for `stall_after_s` while the
broker answers (`shared.kafka.watchdog`), the runner retires it as if every
partition were revoked (work joined, what is done committed, the rest re-read
later from the committed offsets, which every strategy's idempotent writes make
safe) and starts a new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from shared import metrics
from shared.errors import DependencyUnavailable
from shared.kafka.admin import broker_answers
from shared.kafka.commits import Committer
from shared.kafka.consumer import (
    ConsumerOptions,
    ConsumerPort,
    apply_backpressure,
    make_consumer,
    start_consumer,
    stop_consumer,
)
from shared.kafka.deadletter import DeadLetterQueue, LetterProducer
from shared.kafka.liveness import Health, Liveness
from shared.kafka.strategy import Context, StrategyFactory
from shared.kafka.watchdog import BrokerProbe, Watchdog
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

PartitionHook = Callable[[set[TopicPartition]], Awaitable[None]]
CLOSE_TIMEOUT_S = 10.0  # a stalled consumer may never finish leaving its group


@dataclass(frozen=True)
class RunnerOptions:
    """Tuning of one runner."""

    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    poll_timeout_ms: int = 100  # also how often due work and commits are looked at when idle
    commit_interval_s: float = 1.0
    commit_timeout_s: float = 30.0  # a commit still waiting then is dropped, retried next time
    drain_timeout_s: float = 20.0  # longest join on revocation and on stop
    stall_after_s: float | None = None  # None: the common setting kafka_consumer_stall_s
    # How long a full strategy is waited for before its partitions are paused (see the
    # module docstring); at most half the consumer's max_poll_interval_ms.
    pause_after_s: float = 30.0

    @property
    def hold_full_s(self) -> float:
        """`pause_after_s`, bounded so the waiting consumer keeps its group membership."""
        return min(self.pause_after_s, self.consumer.max_poll_interval_ms / 2000)


class ConsumerNotConsuming(Exception):  # noqa: N818 - a readiness verdict, named as /readyz says it
    """Raised by `Runner.check` when the consumer made no progress for too long."""


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Group events of one consumer; those of a retired consumer are ignored."""

    def __init__(self, runner: Runner, consumer: ConsumerPort) -> None:
        self._runner, self._consumer = runner, consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self._runner.consumer is self._consumer:
            await self._runner._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self._runner.consumer is self._consumer:
            await self._runner._assigned(set(assigned))


class Runner:
    """Consume `topics` as `group` through the strategy `strategy` builds."""

    def __init__(
        self,
        *,
        common: CommonSettings,
        group: str,
        topics: Sequence[str],
        strategy: StrategyFactory,
        producer: LetterProducer,
        options: RunnerOptions | None = None,
        on_assign: PartitionHook | None = None,
        on_revoke: PartitionHook | None = None,
        consumer_factory: Callable[[], ConsumerPort] | None = None,
        broker_probe: BrokerProbe | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opts = opts = options or RunnerOptions()
        self._group = group
        self._topics = list(topics)
        self._where = common.kafka_bootstrap_servers
        self._new_consumer = consumer_factory or (
            lambda: make_consumer(common, group, opts.consumer)
        )
        self._dead_letters = DeadLetterQueue(producer, group)
        self._strategy = strategy(Context(group, self._dead_letters))
        self._committer = Committer(group, opts.commit_interval_s, opts.commit_timeout_s)
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._liveness = Liveness(opts.stall_after_s or common.kafka_consumer_stall_s, clock)
        self._clock = clock
        self._full_since: float | None = None  # when the strategy last became full
        self._watchdog = Watchdog(
            group, self._liveness, broker_probe or (lambda: broker_answers(common))
        )
        # held by each step and by a revocation, so a revocation never interleaves with a step
        self._lock = asyncio.Lock()
        self.assignment: set[TopicPartition] = set()
        self.consumer = self._subscribed()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then join the work, commit it and leave the group."""
        self._liveness.started()  # before: the group may assign partitions while it starts
        await start_consumer(self.consumer, self._topics, self._where)
        log.info("consumer.started", group=self._group, topics=self._topics)
        try:
            while not stop.is_set():
                await self._step(self.consumer)
                if await self._watchdog.rebuild_due():
                    await self._rebuild(stop)
            async with self._lock:
                await self._strategy.join(None, self._opts.drain_timeout_s)
                await self._committer.commit_done(self.consumer, self._strategy, self._dead_letters)
        finally:
            await self._strategy.close()
            await self._dead_letters.close()
            await self.consumer.stop()
            log.info("consumer.stopped", group=self._group)

    def health(self) -> Health:
        """What the consumer is doing and how long since it last made progress."""
        return self._liveness.health()

    async def check(self) -> str:
        """A readiness check: the consumer's state, or `ConsumerNotConsuming`."""
        health = self.health()
        if not health.consuming:
            raise ConsumerNotConsuming(f"stalled: {health.describe()}")
        return health.describe()

    def _subscribed(self) -> ConsumerPort:
        consumer = self._new_consumer()
        consumer.subscribe(self._topics, listener=_Listener(self, consumer))
        return consumer

    async def _step(self, consumer: ConsumerPort) -> None:
        async with self._lock:
            await self._strategy.poll()
            room = self._strategy.capacity()
            holding = self._holding(room)
            if holding:
                self._liveness.backpressure()
                await self._commit_if_due(consumer)
            else:
                room = apply_backpressure(consumer, room)
        if holding:  # until a slot frees, at most a poll's time (commits, the pause)
            await self._strategy.room(self._opts.poll_timeout_ms / 1000)
            return
        limit = max(1, min(room, self._opts.consumer.max_poll_records))
        try:
            polled = await consumer.getmany(
                timeout_ms=self._opts.poll_timeout_ms, max_records=limit
            )
        except KafkaError as exc:  # e.g. its coordination failed: the watchdog decides
            log.warning("consumer.poll_failed", group=self._group, error=repr(exc))
            await asyncio.sleep(1)
            return
        async with self._lock:
            self._submit(polled)
            self._liveness.observe(consumer, sum(map(len, polled.values())))
            await self._commit_if_due(consumer)

    async def _commit_if_due(self, consumer: ConsumerPort) -> None:
        """Commit what the strategy finished, once the commit interval has passed."""
        if self._committer.due():
            await self._committer.commit_done(consumer, self._strategy, self._dead_letters)

    def _holding(self, room: int) -> bool:
        """True while the strategy is full and has been for less than `hold_full_s`."""
        if room > 0:
            self._full_since = None
            return False
        now = self._clock()
        if self._full_since is None:
            self._full_since = now
        return now - self._full_since < self._opts.hold_full_s

    def _submit(self, polled: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in polled.items():
            if tp not in self.assignment:  # revoked while this poll waited for the lock
                continue
            for record in records:
                self._strategy.submit(record)
            metrics.CONSUMED.labels(self._group, tp.topic).inc(len(records))

    async def _rebuild(self, stop: asyncio.Event) -> None:
        """Retire the stalled consumer like a revocation of everything; start a new one."""
        if self.assignment:
            await self._revoked(set(self.assignment))
        stalled, self.consumer = self.consumer, self._subscribed()
        await stop_consumer(stalled, CLOSE_TIMEOUT_S)
        while not stop.is_set():
            self._liveness.started()
            try:
                await start_consumer(self.consumer, self._topics, self._where)
            except DependencyUnavailable as exc:  # the broker went away again
                await self._watchdog.before_retry(stop, str(exc))
                self.consumer = self._subscribed()
                continue
            log.info("consumer.rebuilt", group=self._group)
            return

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            await self._strategy.join(revoked, self._opts.drain_timeout_s)
            await self._committer.commit_done(
                self.consumer, self._strategy, self._dead_letters, only=revoked
            )
            self._strategy.forget(revoked)
            self._committer.forget(revoked)
            self.assignment -= revoked
            self._liveness.revoked()
        metrics.ASSIGNED_PARTITIONS.labels(self._group).set(len(self.assignment))
        log.info("consumer.revoked", group=self._group, partitions=sorted(map(str, revoked)))
        if self._on_revoke is not None:
            await self._on_revoke(revoked)

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        self.assignment = set(assigned)
        self._liveness.assigned(len(assigned))
        metrics.ASSIGNED_PARTITIONS.labels(self._group).set(len(assigned))
        log.info("consumer.assigned", group=self._group, partitions=sorted(map(str, assigned)))
        if self._on_assign is not None:
            await self._on_assign(set(assigned))
