"""Sequential: the records of each poll go, in order, to one call of a handler.

    submit: decode with the contract (invalid → dead letter) → buffer
    poll:   handle(buffer) → its offsets become committable

A handler that raises keeps its records: they are handed again after a back-off
that doubles up to a cap, and until they succeed the strategy has no capacity,
so the runner pauses the partitions. Nothing is re-read and nothing is skipped;
handlers make their writes idempotent because a crash repeats the uncommitted
records.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from aiokafka import TopicPartition

from shared import metrics
from shared.contracts.base import ContractError, Message, decode
from shared.kafka.strategy import Backoff, Context, KafkaRecord, partition_of

M = TypeVar("M", bound=Message)
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Record(Generic[M]):
    """A decoded message and where it came from."""

    message: M
    topic: str
    partition: int
    offset: int
    key: bytes | None


Handler = Callable[[list[Record[M]]], Awaitable[None]]


class Sequential(Generic[M]):
    """Decode each record as `model`, hand each poll's records to `handle` in order."""

    def __init__(
        self,
        ctx: Context,
        *,
        model: type[M],
        handle: Handler[M],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ctx = ctx
        self._model = model
        self._handle = handle
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._buffer: list[Record[M]] = []
        self._waiting: dict[TopicPartition, int] = {}  # next offsets the buffer covers
        self._done: dict[TopicPartition, int] = {}
        self._delay = self._backoff.initial_s
        self._retry_at = 0.0

    def capacity(self) -> int:
        """0 while records wait to be handled or retried (the runner waits); otherwise any."""
        return 0 if self._waiting else sys.maxsize

    def submit(self, record: KafkaRecord) -> None:
        """Decode and buffer `record`; a record breaking the contract is dead-lettered."""
        self._waiting[partition_of(record)] = record.offset + 1
        try:
            message = decode(self._model, record.value)
        except ContractError as exc:
            self._ctx.dead_letters.put(record, str(exc))
            return
        self._buffer.append(
            Record(message, record.topic, record.partition, record.offset, record.key)
        )

    async def poll(self) -> None:
        """Handle the buffered records, unless their retry is not due yet."""
        if not self._waiting or self._clock() < self._retry_at:
            return
        try:
            if self._buffer:
                with metrics.HANDLE_SECONDS.labels(self._ctx.group).time():
                    await self._handle(list(self._buffer))
        except Exception as exc:
            metrics.HANDLER_RETRIES.labels(self._ctx.group).inc()
            log.warning("consumer.handler_failed", group=self._ctx.group, error=repr(exc))
            self._retry_at = self._clock() + self._delay
            self._delay = self._backoff.next(self._delay)
            return
        self._done.update(self._waiting)
        self._buffer.clear()
        self._waiting.clear()
        self._delay = self._backoff.initial_s

    async def room(self, timeout: float) -> None:
        """Return once the buffered records' retry is due, or after `timeout` seconds."""
        if self._waiting:
            await asyncio.sleep(min(timeout, max(0.0, self._retry_at - self._clock())))

    async def committable(self) -> dict[TopicPartition, int]:
        """One past the last handled record of every partition."""
        return dict(self._done)

    async def join(self, partitions: Collection[TopicPartition] | None, timeout: float) -> None:
        """Handle what is buffered, retrying as usual, for at most `timeout` seconds.

        The buffer is handled whole (one handler call), whichever partitions are asked for.
        """
        if partitions is not None and not self._waiting.keys() & set(partitions):
            return
        try:
            await asyncio.wait_for(self._drain(), timeout)
        except TimeoutError:
            log.warning("consumer.join_timed_out", group=self._ctx.group, records=len(self._buffer))

    async def _drain(self) -> None:
        while self._waiting:
            await asyncio.sleep(max(0.0, self._retry_at - self._clock()))
            await self.poll()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop the revoked partitions' offsets and unhandled records."""
        gone = set(partitions)
        self._buffer = [r for r in self._buffer if TopicPartition(r.topic, r.partition) not in gone]
        for tp in gone:
            self._waiting.pop(tp, None)
            self._done.pop(tp, None)

    async def close(self) -> None:
        """Nothing runs between polls."""
