"""The sink's consumer pipeline, readable top to bottom:

    poll → decode (invalid → dead-letter) → accumulate (≤ N events or T seconds)
         → one insert → commit

Polls accumulate into one `PendingBatch` until it holds `batch_max_events` events or
its first record waited `batch_max_seconds`; then ONE insert with a token made of the
batch's offset ranges, then the commit of those offsets — never before the insert
returned. A failed insert is retried (same body, same token) with exponential back-off
until it succeeds or the process is stopped; the offsets stay uncommitted meanwhile, so
nothing is lost and the lag simply grows. A redelivered batch (crash before the commit,
a rebalance, a batch cut differently) re-inserts events already stored: reports stay
exact because every table dedups by event id (docs/reports.md, "Idempotence").
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from services.report_sink.batch import PendingBatch
from services.report_sink.config import Settings
from services.report_sink.decode import strict_rows
from services.report_sink.sink import EventWriter
from shared import metrics
from shared.contracts.base import ContractError
from shared.kafka.deadletter import send_dead_letter, sleep_unless_stopped
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: SinkConsumer) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._sink.pending.drop(set(revoked))
        log.info("sink.revoked", partitions=sorted(map(str, revoked)))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        metrics.ASSIGNED_PARTITIONS.labels(self._sink.group).set(len(assigned))
        self._sink.assigned.set()
        log.info("sink.assigned", partitions=sorted(map(str, assigned)))


class SinkConsumer:
    """Consumes `email.events` into ClickHouse as the `report_sink` group."""

    def __init__(self, settings: Settings, writer: EventWriter, producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._writer = writer
        self._producer = producer
        self.group = settings.group_id
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        self.pending = PendingBatch()
        self.inserted_events = 0  # since start, duplicates included (tests, benchmarks)
        self.assigned = asyncio.Event()  # set once the group gave this consumer partitions
        # events per record seen so far: sizes polls (counted in records) to the batch's
        # room (counted in events); pessimistic until measured
        self._events_per_record = 50.0

    def _make_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._settings.common.kafka_bootstrap_servers,
            group_id=self.group,
            enable_auto_commit=False,  # commit is the last step, never automatic
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._settings.poll_max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; a batch not inserted by then stays uncommitted."""
        consumer = self._make_consumer()
        consumer.subscribe([self.topic], listener=_Revocations(self))
        await consumer.start()
        log.info("sink.started", group=self.group, topic=self.topic)
        try:
            await self._pipeline(consumer, stop)
        finally:
            await consumer.stop()
            log.info("sink.stopped", group=self.group)

    async def _pipeline(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Insert batch k (on the ClickHouse thread) while batch k+1 accumulates.

        Commits stay in order: k+1's insert starts only after k was inserted and committed.
        """
        writing: PendingBatch | None = None
        inflight: asyncio.Task[bool] | None = None
        try:
            while True:
                await self._fill(consumer, stop)
                ending = stop.is_set()
                if inflight is not None and (inflight.done() or self._full() or ending):
                    if not await inflight:
                        return  # stopped while ClickHouse was failing: nothing committed
                    await self._commit(consumer, writing)
                    inflight = None
                if inflight is None and self.pending and (self._full() or ending):
                    writing, self.pending = self.pending, PendingBatch()
                    inflight = asyncio.create_task(self._write(writing, stop))
                if ending and inflight is None:
                    return
        finally:
            if inflight is not None and not inflight.done():
                inflight.cancel()

    def _full(self) -> bool:
        limits = self._settings
        return (
            self.pending.events >= limits.batch_max_events
            or self.pending.age() >= limits.batch_max_seconds
        )

    async def _fill(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        """Poll until the pending batch is full or old enough; return early when idle."""
        limits = self._settings
        while not stop.is_set():
            wait = limits.batch_max_seconds - self.pending.age() if self.pending else 0.2
            if self.pending and wait <= 0:
                return
            room = (limits.batch_max_events - self.pending.events) / self._events_per_record
            records = max(1, min(limits.poll_max_records, int(room)))
            polled = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=records)
            for tp, part in polled.items():
                for raw, error in self.pending.add(tp, part):
                    await self._dead_letter(raw, error)
            if self.pending.records:
                self._events_per_record = max(1.0, self.pending.events / self.pending.records)
            if self.pending.events >= limits.batch_max_events or not polled:
                return

    async def _write(self, batch: PendingBatch, stop: asyncio.Event) -> bool:
        """Insert `batch`, retrying (same body, same token) with back-off; False if stopped."""
        token = batch.token()
        backoff = self._settings.retry_backoff_s
        failures = 0
        while True:
            body = batch.body()
            if not body:
                return True  # only dead-lettered records: nothing to insert, commit them
            try:
                with metrics.HANDLE_SECONDS.labels(self.group).time():
                    await self._writer.insert(body, token)
            except Exception as exc:
                failures += 1
                metrics.HANDLER_RETRIES.labels(self.group).inc()
                log.warning(
                    "sink.insert_failed", events=batch.events, attempt=failures, error=repr(exc)
                )
                if failures == 1:
                    await self._dead_letter_invalid(batch)
                    # a new body gets a new token: blocks of the refused insert that did land
                    # must not make ClickHouse drop different rows (event-id dedup covers
                    # any overlap)
                    token = f"{token}-rebuilt"
                if stop.is_set():
                    return False
                await sleep_unless_stopped(stop, backoff)
                backoff = min(backoff * 2, self._settings.max_retry_backoff_s)
                continue
            metrics.SINK_EVENTS.inc(batch.events)
            self.inserted_events += batch.events
            metrics.CONSUMED.labels(self.group, self.topic).inc(batch.records)
            log.info("sink.inserted", events=batch.events, retries=failures)
            return True

    async def _dead_letter_invalid(self, batch: PendingBatch) -> None:
        """After a refused insert: rebuild every record's rows through pydantic; dead-letter
        the records that fail the contract."""
        for run in batch.runs.values():
            kept: list[bytes] = []
            good: list[Any] = []
            events = 0
            for raw in run.raws:
                try:
                    rows = strict_rows(raw.value)
                except ContractError as exc:
                    await self._dead_letter(raw, str(exc))
                    continue
                good.append(raw)
                kept.append(rows.body)
                events += rows.events
            batch.events -= run.events - events
            run.raws, run.chunks, run.events = good, kept, events

    async def _commit(self, consumer: AIOKafkaConsumer, batch: PendingBatch | None) -> None:
        if batch is None:
            return
        offsets = batch.next_offsets()
        owned = {tp: off for tp, off in offsets.items() if tp in consumer.assignment()}
        if not owned:
            return
        try:
            await consumer.commit(owned)
            metrics.COMMITS.labels(self.group).inc()
        except (CommitFailedError, KafkaError) as exc:
            # The group rebalanced meanwhile: the new owner re-reads these records, and the
            # event-id dedup makes that harmless.
            log.warning("sink.commit_failed", error=repr(exc))
            return
        log.info("sink.committed", events=batch.events, lag=_lag(consumer, owned))

    async def _dead_letter(self, raw: Any, error: str) -> None:
        await send_dead_letter(self._producer, raw, error, self.group)
        log.warning("sink.dead_lettered", partition=raw.partition, offset=raw.offset, error=error)


def _lag(consumer: AIOKafkaConsumer, committed: dict[TopicPartition, int]) -> int | None:
    """Records behind the partitions' ends, as last fetched (None before the first fetch)."""
    ends = {tp: consumer.highwater(tp) for tp in committed}
    if any(end is None for end in ends.values()):
        return None
    return sum(max(0, int(end) - committed[tp]) for tp, end in ends.items())
