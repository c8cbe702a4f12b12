"""Offset commits: manual, throttled, limited to owned partitions, failures handled here once.

The runner asks its strategy what is safe to commit and hands it here. Only
partitions this consumer still owns and whose offset moved are committed. A
commit refused because the group rebalanced meanwhile is logged and dropped:
the partition's new owner reads those records again, which every service's
idempotent writes make harmless. A commit still waiting after `timeout_s` (aiokafka
retries one for as long as the group coordinator is unknown: a broker outage, or a
consumer that never finds it again) is given up the same way and made next time, so
a commit never holds the runner longer than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection

import structlog
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from shared import metrics
from shared.kafka.consumer import ConsumerPort
from shared.kafka.deadletter import DeadLetterQueue
from shared.kafka.strategy import Strategy

log = structlog.get_logger(__name__)


class Committer:
    """Commits at most every `interval_s` (0: whenever asked), each waiting at most
    `timeout_s`, remembering what it committed."""

    def __init__(
        self,
        group: str,
        interval_s: float,
        timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._group = group
        self._interval = interval_s
        self._timeout = timeout_s
        self._clock = clock
        self._next_at = clock()
        self.committed: dict[TopicPartition, int] = {}

    def due(self) -> bool:
        """True when the throttle allows the next commit."""
        return self._clock() >= self._next_at

    async def commit_done(
        self,
        consumer: ConsumerPort,
        strategy: Strategy,
        dead_letters: DeadLetterQueue,
        only: Collection[TopicPartition] | None = None,
    ) -> None:
        """Commit what `strategy` made durable, once its dead letters are acknowledged."""
        try:
            offsets = await strategy.committable()
        except Exception as exc:  # e.g. a flush hook's database is down: retried next time
            log.warning("consumer.commit_deferred", group=self._group, error=repr(exc))
            return
        await dead_letters.flush()
        if only is not None:
            offsets = {tp: offset for tp, offset in offsets.items() if tp in only}
        await self.commit(consumer, offsets)

    async def commit(self, consumer: ConsumerPort, offsets: dict[TopicPartition, int]) -> None:
        """Commit the owned partitions of `offsets` that moved since their last commit."""
        self._next_at = self._clock() + self._interval
        owned = consumer.assignment()
        moved = {
            tp: offset
            for tp, offset in offsets.items()
            if tp in owned and offset > self.committed.get(tp, -1)
        }
        if not moved:
            return
        try:
            await asyncio.wait_for(consumer.commit(moved), self._timeout)
        except (CommitFailedError, KafkaError, TimeoutError) as exc:
            log.warning("consumer.commit_failed", group=self._group, error=repr(exc))
            return
        self.committed.update(moved)
        metrics.COMMITS.labels(self._group).inc()
        self._record_lag(consumer, owned)

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Revoked partitions: their next owner commits them (and reports their lag)."""
        for tp in partitions:
            self.committed.pop(tp, None)
            with contextlib.suppress(KeyError):  # never reported by this instance
                metrics.CONSUMER_LAG.remove(self._group, str(tp.partition))

    def _record_lag(self, consumer: ConsumerPort, owned: set[TopicPartition]) -> None:
        """Records between this consumer's commits and each partition's end, as last fetched."""
        for tp in owned:
            end, done = consumer.highwater(tp), self.committed.get(tp)
            if end is not None and done is not None:
                lag = max(0, end - done)
                metrics.CONSUMER_LAG.labels(self._group, str(tp.partition)).set(lag)
