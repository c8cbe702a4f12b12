"""The consumer loop every batch-processing service runs.

One pass, readable top to bottom:

    poll → decode/validate (invalid → dead-letter topic) → handle → commit

Commits are manual and come last: offsets are committed only after the
handler returned, so the work it did is durable first (at-least-once delivery;
handlers make their writes idempotent). A handler that raises is retried: the
loop seeks its partitions back to the first record of the failed batch and
backs off, so nothing is skipped. Shutdown (an `asyncio.Event`, set by the
signal handler) lets the current batch finish, commits, and leaves the group.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from shared import metrics
from shared.contracts.base import ContractError, Message, decode
from shared.kafka.deadletter import send_dead_letter, sleep_unless_stopped
from shared.settings import CommonSettings

M = TypeVar("M", bound=Message)
log = structlog.get_logger(__name__)

PartitionHook = Callable[[set[TopicPartition]], Awaitable[None]]


@dataclass(frozen=True)
class Record(Generic[M]):
    """A decoded message and where it came from."""

    message: M
    topic: str
    partition: int
    offset: int
    key: bytes | None


class Backpressure(Exception):  # noqa: N818 - a signal, not a failure
    """Raised by a handler to say "not now": the batch is re-read later, not dead-lettered."""


@dataclass
class LoopOptions:
    """Tuning of one consumer loop."""

    max_records: int = 500
    poll_timeout_ms: int = 500
    retry_backoff_s: float = 0.5
    max_retry_backoff_s: float = 10.0
    session_timeout_ms: int = 30_000
    max_poll_interval_ms: int = 300_000


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop[Any]) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._loop._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._loop._assigned(set(assigned))


class ConsumerLoop(Generic[M]):
    """Consume `topics` as `group_id`, hand decoded batches to `handle`, commit after it."""

    def __init__(
        self,
        *,
        common: CommonSettings,
        topics: Sequence[str],
        group_id: str,
        model: type[M],
        handle: Callable[[list[Record[M]]], Awaitable[None]],
        producer: AIOKafkaProducer,
        options: LoopOptions | None = None,
        on_assign: PartitionHook | None = None,
        on_revoke: PartitionHook | None = None,
    ) -> None:
        self._common = common
        self._topics = list(topics)
        self._group = group_id
        self._model = model
        self._handle = handle
        self._producer = producer
        self._opts = options or LoopOptions()
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._consumer: AIOKafkaConsumer | None = None
        # held while a batch is handled and committed; a revocation waits for it, so a
        # graceful rebalance never hands over a partition with uncommitted finished work
        self._batch_lock = asyncio.Lock()
        self.assignment: set[TopicPartition] = set()

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._common.kafka_bootstrap_servers,
            group_id=self._group,
            enable_auto_commit=False,  # commit is the last step, never automatic
            auto_offset_reset="earliest",
            session_timeout_ms=self._opts.session_timeout_ms,
            max_poll_interval_ms=self._opts.max_poll_interval_ms,
            max_poll_records=self._opts.max_records,
            isolation_level="read_committed",
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then finish the batch, commit and leave the group."""
        consumer = self._make_consumer()
        self._consumer = consumer
        consumer.subscribe(self._topics, listener=_Rebalance(self))
        await consumer.start()
        log.info("consumer.started", group=self._group, topics=self._topics)
        backoff = self._opts.retry_backoff_s
        try:
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=self._opts.poll_timeout_ms, max_records=self._opts.max_records
                )
                if not batches:
                    continue
                async with self._batch_lock:
                    done = await self._process(consumer, batches)
                if done:
                    backoff = self._opts.retry_backoff_s
                    continue
                await sleep_unless_stopped(stop, backoff)
                backoff = min(backoff * 2, self._opts.max_retry_backoff_s)
        finally:
            await consumer.stop()
            self._consumer = None
            log.info("consumer.stopped", group=self._group)

    async def _process(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Any]]
    ) -> bool:
        """Decode, dead-letter, handle and commit one poll's records. False: retry later."""
        records: list[Record[M]] = []
        for raw_records in batches.values():
            for raw in raw_records:
                record = await self._decode_or_dead_letter(raw)
                if record is not None:
                    records.append(record)
        try:
            if records:
                with metrics.HANDLE_SECONDS.labels(self._group).time():
                    await self._handle(records)
        except Exception as exc:
            metrics.HANDLER_RETRIES.labels(self._group).inc()
            log.warning(
                "consumer.handler_failed",
                group=self._group,
                backpressure=isinstance(exc, Backpressure),
                error=repr(exc),
            )
            for tp, raw_records in batches.items():
                if tp in consumer.assignment():
                    consumer.seek(tp, raw_records[0].offset)
            return False
        for topic, count in Counter(r.topic for r in records).items():
            metrics.CONSUMED.labels(self._group, topic).inc(count)
        await self._commit(consumer, {tp: rs[-1].offset + 1 for tp, rs in batches.items()})
        return True

    async def _decode_or_dead_letter(self, raw: Any) -> Record[M] | None:
        try:
            message = decode(self._model, raw.value)
        except ContractError as exc:
            await self._dead_letter(raw, str(exc))
            return None
        return Record(message, raw.topic, raw.partition, raw.offset, raw.key)

    async def _dead_letter(self, raw: Any, error: str) -> None:
        await send_dead_letter(self._producer, raw, error, self._group)
        log.warning(
            "consumer.dead_lettered",
            group=self._group,
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            error=error,
        )

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        owned = {tp: off for tp, off in offsets.items() if tp in consumer.assignment()}
        if not owned:
            return
        try:
            await consumer.commit(owned)
            metrics.COMMITS.labels(self._group).inc()
        except (CommitFailedError, KafkaError) as exc:
            # The group rebalanced while we worked: the new owner re-reads these records,
            # which is safe because every handler's writes are idempotent.
            log.warning("consumer.commit_failed", group=self._group, error=repr(exc))

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        self.assignment = set(assigned)
        metrics.ASSIGNED_PARTITIONS.labels(self._group).set(len(assigned))
        log.info("consumer.assigned", group=self._group, partitions=sorted(map(str, assigned)))
        if self._on_assign is not None:
            await self._on_assign(assigned)

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._batch_lock:
            self.assignment -= revoked
        log.info("consumer.revoked", group=self._group, partitions=sorted(map(str, revoked)))
        if self._on_revoke is not None:
            await self._on_revoke(revoked)
