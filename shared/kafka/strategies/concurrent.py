"""Concurrent: one task per record, up to `max_in_flight`, committed behind watermarks.

    submit: watermark.start → task: work(record) (InvalidMessage → dead letter)
    committable: watermarks → before_commit() → offsets

Records of a partition finish in any order; a partition's offset is committable
only below its first record still in flight (`shared.kafka.watermarks`). Work
that must be durable before its offsets are committed (the sender's tallies) is
flushed by `before_commit`, after the watermarks were read, so every record
below them has queued its part. Work that raises anything but `InvalidMessage`
is a bug: the partition would be stuck, so the runner stops instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection

import structlog
from aiokafka import TopicPartition

from shared.kafka.strategy import INVALID, Context, KafkaRecord, partition_of
from shared.kafka.watermarks import WatermarkTracker

log = structlog.get_logger(__name__)

Work = Callable[[KafkaRecord], Awaitable[None]]


class Concurrent:
    """Run `work` on up to `max_in_flight` records at once."""

    def __init__(
        self,
        ctx: Context,
        *,
        work: Work,
        max_in_flight: int,
        before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._ctx = ctx
        self._work = work
        self._max = max_in_flight
        self._before_commit = before_commit
        self._tracker = WatermarkTracker()
        self._tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._failure: BaseException | None = None
        self._freed: asyncio.Future[None] | None = None  # what `room` waits on

    @property
    def in_flight(self) -> int:
        """Records being worked on right now."""
        return sum(len(tasks) for tasks in self._tasks.values())

    def capacity(self) -> int:
        """Free slots."""
        return self._max - self.in_flight

    def submit(self, record: KafkaRecord) -> None:
        """Start the work on `record`."""
        tp = partition_of(record)
        self._tracker.start(tp, record.offset)
        task = asyncio.create_task(self._run(record))
        self._tasks.setdefault(tp, set()).add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.get(tp, set()).discard(done)
            if self._freed is not None and not self._freed.done():
                self._freed.set_result(None)
            if done.cancelled():
                return
            if done.exception() is None:
                self._tracker.finish(tp, record.offset)
            else:
                self._failure = done.exception()

        task.add_done_callback(finished)

    async def room(self, timeout: float) -> None:
        """Return once a slot is free (or a record's work ended), or after `timeout` s."""
        if self.capacity() > 0:
            return
        self._freed = freed = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await freed

    async def _run(self, record: KafkaRecord) -> None:
        try:
            await self._work(record)
        except INVALID as exc:
            self._ctx.dead_letters.put(record, str(exc))
        except Exception:
            log.exception(
                "consumer.work_crashed",
                group=self._ctx.group,
                partition=record.partition,
                offset=record.offset,
            )
            raise

    async def poll(self) -> None:
        """Raise if a record's work crashed."""
        if self._failure is not None:
            raise RuntimeError("a record's work failed unexpectedly") from self._failure

    async def committable(self) -> dict[TopicPartition, int]:
        """The watermarks, once `before_commit` made the work below them durable."""
        offsets = self._tracker.committable()
        if self._before_commit is not None:
            await self._before_commit()
        return offsets

    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None:
        """Wait (bounded) for the records of `partitions`; cancel those still running then."""
        wanted = self._tasks if partitions is None else partitions
        tasks = {t for tp in wanted for t in self._tasks.get(tp, set())}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("consumer.work_abandoned", group=self._ctx.group, records=len(late))

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop the revoked partitions' watermarks."""
        self._tracker.forget(partitions)
        for tp in partitions:
            self._tasks.pop(tp, None)

    async def close(self) -> None:
        """Cancel the work still running (its records are not committed)."""
        await self.join(None, 0)
