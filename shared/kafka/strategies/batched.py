"""Batched: accumulate by size or time, write batch k while k+1 accumulates, commit in order.

    submit: decode (invalid → dead letter) → pending batch
    poll:   pending full (≥ max_weight) or old (≥ max_seconds) and fewer than
            `max_writes` writes running → write it in the background, retried with
            back-off, same token
    committable: the offsets of every batch written so far whose earlier batches are
                 written too

By default one write runs at a time. A store whose writes of different batches may
overlap (the sink's ClickHouse inserts: idempotent by token, the tables order rows by
their data, not by arrival) can allow more, so a backlog keeps more than one core
busy; batches still become committable in the order they were cut, a write that
finished early waiting for the ones before it. While `max_writes` writes run and the
next batch is already full, the strategy has no capacity and the runner pauses the
partitions. How a refused write is retried is in `shared.kafka.strategies.writes`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Generic, NamedTuple, TypeVar

import structlog
from aiokafka import TopicPartition

from shared.kafka.strategies.batch import Batch
from shared.kafka.strategies.writes import BatchStep, write_until_done
from shared.kafka.strategy import INVALID, Backoff, Context, KafkaRecord

T = TypeVar("T")
log = structlog.get_logger(__name__)


class _Write(NamedTuple, Generic[T]):
    batch: Batch[T]
    task: asyncio.Task[None]


class Batched(Generic[T]):
    """Batches of up to `max_weight` or `max_seconds`, written by `step`, at most
    `max_writes` at once."""

    def __init__(
        self,
        ctx: Context,
        *,
        step: BatchStep[T],
        max_weight: int,
        max_seconds: float,
        backoff: Backoff | None = None,
        weight_hint: float = 1.0,
        max_writes: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_writes < 1:
            raise ValueError("max_writes must be at least 1")
        self._ctx = ctx
        self._step = step
        self._max_weight = max_weight
        self._max_seconds = max_seconds
        self._max_writes = max_writes
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._per_record = max(1.0, weight_hint)  # sizes polls to the batch's room
        self._pending: Batch[T] = Batch()
        self._writes: deque[_Write[T]] = deque()  # in the order the batches were cut
        self._done: dict[TopicPartition, int] = {}

    def capacity(self) -> int:
        """Records that fit in the pending batch; 0 when it is full and no write can start."""
        if self._full() and not self._can_start():
            return 0
        return max(1, int((self._max_weight - self._pending.weight) / self._per_record))

    def submit(self, record: KafkaRecord) -> None:
        """Decode `record` into the pending batch."""
        run = self._pending.note(record, self._clock())
        try:
            value, weight = self._step.decode(record)
        except INVALID as exc:
            self._ctx.dead_letters.put(record, str(exc))
            return
        self._pending.add(run, record, value, weight)

    async def poll(self) -> None:
        """Collect a finished write; start the next one when the pending batch is due."""
        self._collect()
        if self._can_start() and self._pending and (self._full() or self._old()):
            self._start_write()

    async def room(self, timeout: float) -> None:
        """Return once a running write is over (the next batch may start), or after
        `timeout` seconds."""
        running = self._running()
        if running:
            await asyncio.wait(running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def committable(self) -> dict[TopicPartition, int]:
        """One past the last record of every batch written after every earlier one."""
        self._collect()
        return dict(self._done)

    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None:
        """Write the running and the pending batches, for at most `timeout` seconds.

        Batches are written whole, whichever of their partitions are asked for.
        """
        if partitions is not None and not self._holds(set(partitions)):
            return
        try:
            await asyncio.wait_for(self._write_all(), timeout)
        except TimeoutError:
            log.warning("consumer.join_timed_out", group=self._ctx.group)
            await self.close()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop the revoked partitions' pending records and offsets."""
        self._pending.drop(partitions)
        for tp in partitions:
            self._done.pop(tp, None)

    async def close(self) -> None:
        """Cancel the running writes (the records of every write not collected yet, done
        or not, are not committed)."""
        writes, self._writes = list(self._writes), deque()
        for write in writes:
            write.task.cancel()
        await asyncio.gather(*(write.task for write in writes), return_exceptions=True)

    def _holds(self, partitions: set[TopicPartition]) -> bool:
        batches = [self._pending, *(write.batch for write in self._writes)]
        return any(partitions & batch.runs.keys() for batch in batches)

    def _running(self) -> set[asyncio.Task[None]]:
        return {write.task for write in self._writes if not write.task.done()}

    def _can_start(self) -> bool:
        return len(self._running()) < self._max_writes

    def _full(self) -> bool:
        return self._pending.weight >= self._max_weight

    def _old(self) -> bool:
        return self._pending.age(self._clock()) >= self._max_seconds

    def _start_write(self) -> None:
        self._per_record = max(1.0, self._pending.weight / self._pending.count)
        batch, self._pending = self._pending, Batch()
        write = write_until_done(self._step, batch, self._ctx, self._backoff)
        self._writes.append(_Write(batch, asyncio.create_task(write)))

    def _collect(self) -> None:
        """Take in the finished writes at the front: a batch's offsets become committable
        only after those of every batch cut before it."""
        while self._writes and self._writes[0].task.done():
            write = self._writes.popleft()
            write.task.result()  # writes retry until they succeed: an error here is a bug
            self._done.update(write.batch.next_offsets())

    async def _write_all(self) -> None:
        if self._writes:
            await asyncio.wait({write.task for write in self._writes})
            self._collect()
        if self._pending:
            self._start_write()
            await asyncio.wait({write.task for write in self._writes})
            self._collect()
