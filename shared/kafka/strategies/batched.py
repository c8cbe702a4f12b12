"""Batched: accumulate by size or time, write batch k while k+1 accumulates, commit in order.

    submit: decode (invalid → dead letter) → pending batch
    poll:   pending full (≥ max_weight) or old (≥ max_seconds) and no write running
              → write it in the background, retried with back-off, same token
    committable: the offsets of every batch written so far

At most one write runs, so batches are written, and become committable, in
order. While a write runs and the next batch is already full, the strategy has
no capacity and the runner pauses the partitions. How a refused write is
retried is in `shared.kafka.strategies.writes`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import Generic, TypeVar

import structlog
from aiokafka import TopicPartition

from shared.kafka.strategies.batch import Batch
from shared.kafka.strategies.writes import BatchStep, write_until_done
from shared.kafka.strategy import INVALID, Backoff, Context, KafkaRecord

T = TypeVar("T")
log = structlog.get_logger(__name__)


class Batched(Generic[T]):
    """Batches of up to `max_weight` or `max_seconds`, written one at a time by `step`."""

    def __init__(
        self,
        ctx: Context,
        *,
        step: BatchStep[T],
        max_weight: int,
        max_seconds: float,
        backoff: Backoff | None = None,
        weight_hint: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self._step = step
        self._max_weight = max_weight
        self._max_seconds = max_seconds
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._per_record = max(1.0, weight_hint)  # sizes polls to the batch's room
        self._pending: Batch[T] = Batch()
        self._writing: asyncio.Task[None] | None = None
        self._written: Batch[T] | None = None
        self._done: dict[TopicPartition, int] = {}

    def capacity(self) -> int:
        """Records that fit in the pending batch; 0 when it is full and a write still runs."""
        if self._writing is not None and self._full():
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
        if self._writing is None and self._pending and (self._full() or self._old()):
            self._start_write()

    async def room(self, timeout: float) -> None:
        """Return once the running write is over (the next batch may start), or after
        `timeout` seconds."""
        if self._writing is not None and not self._writing.done():
            await asyncio.wait({self._writing}, timeout=timeout)

    async def committable(self) -> dict[TopicPartition, int]:
        """One past the last record of every batch written."""
        self._collect()
        return dict(self._done)

    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None:
        """Write the running and the pending batch, for at most `timeout` seconds.

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
        """Cancel a running write (its records are not committed)."""
        if self._writing is not None:
            self._writing.cancel()
            await asyncio.gather(self._writing, return_exceptions=True)
            self._writing = self._written = None

    def _holds(self, partitions: set[TopicPartition]) -> bool:
        batches = [self._pending] if self._written is None else [self._pending, self._written]
        return any(partitions & batch.runs.keys() for batch in batches)

    def _full(self) -> bool:
        return self._pending.weight >= self._max_weight

    def _old(self) -> bool:
        return self._pending.age(self._clock()) >= self._max_seconds

    def _start_write(self) -> None:
        self._per_record = max(1.0, self._pending.weight / self._pending.count)
        self._written, self._pending = self._pending, Batch()
        write = write_until_done(self._step, self._written, self._ctx, self._backoff)
        self._writing = asyncio.create_task(write)

    def _collect(self) -> None:
        if self._writing is None or not self._writing.done():
            return
        self._writing.result()  # writes retry until they succeed: an error here is a bug
        assert self._written is not None
        self._done.update(self._written.next_offsets())
        self._writing = self._written = None

    async def _write_all(self) -> None:
        if self._writing is not None:
            await asyncio.wait({self._writing})
            self._collect()
        if self._pending:
            self._start_write()
            assert self._writing is not None
            await asyncio.wait({self._writing})
            self._collect()
