"""The consumer runner every Kafka-consuming service runs; its work is a strategy.

One step, readable top to bottom:

    strategy.poll() → full? pause partitions : resume them → getmany(≤ capacity)
      → strategy.submit(record) for each record → every commit interval:
        strategy.committable() → dead letters flushed → commit (owned partitions only)

The runner owns everything that is the same for every consumer: building the
consumer, the rebalance listener, commits (manual, last, throttled), the
dead-letter queue and backpressure (aiokafka's pause/resume: a full strategy
pauses fetching but the consumer keeps polling, so it stays in its group). On
revocation it joins the strategy's work on the revoked partitions (bounded),
commits it, then forgets them; on stop (an `asyncio.Event`, set by the signal
handler) it joins everything, commits and leaves the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener, TopicPartition

from shared import metrics
from shared.kafka.commits import Committer
from shared.kafka.consumer import (
    ConsumerOptions,
    ConsumerPort,
    apply_backpressure,
    make_consumer,
    start_consumer,
)
from shared.kafka.deadletter import DeadLetterQueue, LetterProducer
from shared.kafka.strategy import Context, StrategyFactory
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

PartitionHook = Callable[[set[TopicPartition]], Awaitable[None]]


@dataclass(frozen=True)
class RunnerOptions:
    """Tuning of one runner."""

    consumer: ConsumerOptions = field(default_factory=ConsumerOptions)
    poll_timeout_ms: int = 100  # also how often due work and commits are looked at when idle
    commit_interval_s: float = 1.0
    drain_timeout_s: float = 20.0  # longest join on revocation and on stop


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: Runner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
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
        consumer: ConsumerPort | None = None,
    ) -> None:
        self._opts = options or RunnerOptions()
        self._group = group
        self._topics = list(topics)
        self._where = common.kafka_bootstrap_servers
        self._consumer = consumer or make_consumer(common, group, self._opts.consumer)
        self._dead_letters = DeadLetterQueue(producer, group)
        self._strategy = strategy(Context(group, self._dead_letters))
        self._committer = Committer(group, self._opts.commit_interval_s)
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        # held by each step and by a revocation, so a revocation never interleaves with a step
        self._lock = asyncio.Lock()
        self.assignment: set[TopicPartition] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then join the work, commit it and leave the group."""
        consumer = self._consumer
        consumer.subscribe(self._topics, listener=_Listener(self))
        await start_consumer(consumer, self._topics, self._where)
        log.info("consumer.started", group=self._group, topics=self._topics)
        try:
            while not stop.is_set():
                await self._step(consumer)
            async with self._lock:
                await self._strategy.join(None, self._opts.drain_timeout_s)
                await self._committer.commit_done(consumer, self._strategy, self._dead_letters)
        finally:
            await self._strategy.close()
            await self._dead_letters.close()
            await consumer.stop()
            log.info("consumer.stopped", group=self._group)

    async def _step(self, consumer: ConsumerPort) -> None:
        async with self._lock:
            await self._strategy.poll()
            room = apply_backpressure(consumer, self._strategy.capacity())
        limit = max(1, min(room, self._opts.consumer.max_poll_records))
        polled = await consumer.getmany(timeout_ms=self._opts.poll_timeout_ms, max_records=limit)
        async with self._lock:
            self._submit(polled)
            if self._committer.due():
                await self._committer.commit_done(consumer, self._strategy, self._dead_letters)

    def _submit(self, polled: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in polled.items():
            if tp not in self.assignment:  # revoked while this poll waited for the lock
                continue
            for record in records:
                self._strategy.submit(record)
            metrics.CONSUMED.labels(self._group, tp.topic).inc(len(records))

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            await self._strategy.join(revoked, self._opts.drain_timeout_s)
            await self._committer.commit_done(
                self._consumer, self._strategy, self._dead_letters, only=revoked
            )
            self._strategy.forget(revoked)
            self._committer.forget(revoked)
            self.assignment -= revoked
        metrics.ASSIGNED_PARTITIONS.labels(self._group).set(len(self.assignment))
        log.info("consumer.revoked", group=self._group, partitions=sorted(map(str, revoked)))
        if self._on_revoke is not None:
            await self._on_revoke(revoked)

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        self.assignment = set(assigned)
        metrics.ASSIGNED_PARTITIONS.labels(self._group).set(len(assigned))
        log.info("consumer.assigned", group=self._group, partitions=sorted(map(str, assigned)))
        if self._on_assign is not None:
            await self._on_assign(set(assigned))
