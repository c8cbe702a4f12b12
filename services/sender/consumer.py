"""The sender's consumer: many batches in flight, commits behind per-partition watermarks.

    poll (only as many records as free slots) → one task per batch → pipeline
    every flush interval: watermarks → flush tallies → commit those offsets

A record's offset is finished only after its outcome events were
acknowledged and its tally queued; the flush writes the tallies before the
offsets below them are committed. On revocation the consumer waits (bounded)
for the revoked partitions' batches, flushes and commits them, then forgets
them and recomputes its share of the send rate.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord

from services.sender.accounting import Accounting
from services.sender.campaigns import UnknownCampaign
from services.sender.config import Settings
from services.sender.pipeline import SendPipeline, durable
from services.sender.providers.registry import ProviderPool
from services.sender.watermarks import WatermarkTracker
from shared import metrics
from shared.contracts import ContractError, SendBatch, decode, encode
from shared.contracts.deadletter import DeadLetter
from shared.topics import TOPIC_SPECS, Topic, dead_letter_name

log = structlog.get_logger(__name__)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: SenderLoop) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._loop.revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._loop.assigned(set(assigned))


class SenderLoop:
    """Consume `email.sends` with up to `max_in_flight` batches at once."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        pipeline: SendPipeline,
        accounting: Accounting,
        providers: ProviderPool,
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._pipeline = pipeline
        self._accounting = accounting
        self._providers = providers
        self._tracker = WatermarkTracker()
        self._tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self._slot_freed = asyncio.Event()
        self._commit_lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._failure: BaseException | None = None
        self.assignment: set[TopicPartition] = set()

    @property
    def in_flight(self) -> int:
        """Batches being processed right now."""
        return sum(len(tasks) for tasks in self._tasks.values())

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop`; then finish in-flight batches, flush, commit, leave."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.common.kafka_bootstrap_servers,
            group_id=self._settings.consumer_group,
            enable_auto_commit=False,  # commit is the last step, behind the watermarks
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._settings.max_in_flight,
        )
        self._consumer = consumer
        consumer.subscribe([self._topic], listener=_Listener(self))
        await consumer.start()
        flusher = asyncio.create_task(self._flush_every_interval(stop), name="flusher")
        log.info("sender.started", topic=self._topic, group=self._settings.consumer_group)
        try:
            await self._poll_until(stop, consumer)
            await self._drain(set(self._tasks))
            await self._flush_and_commit()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await consumer.stop()
            self._consumer = None
            log.info("sender.stopped")

    async def _poll_until(self, stop: asyncio.Event, consumer: AIOKafkaConsumer) -> None:
        while not stop.is_set():
            if self._failure is not None:
                raise RuntimeError("a batch failed unexpectedly") from self._failure
            free = self._settings.max_in_flight - self.in_flight
            if free <= 0:
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), timeout=0.5)
                continue
            polled = await consumer.getmany(timeout_ms=200, max_records=free)
            for tp, records in polled.items():
                for record in records:
                    self._start(tp, record)

    def _start(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        self._tracker.start(tp, record.offset)
        task = asyncio.create_task(self._handle(tp, record))
        self._tasks.setdefault(tp, set()).add(task)
        metrics.SEND_BATCHES_IN_FLIGHT.set(self.in_flight)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.get(tp, set()).discard(finished)
            metrics.SEND_BATCHES_IN_FLIGHT.set(self.in_flight)
            self._slot_freed.set()
            if finished.cancelled():
                return
            if finished.exception() is None:
                self._tracker.finish(tp, record.offset)
            else:  # a bug: stop consuming rather than leave the partition stuck
                self._failure = finished.exception()

        task.add_done_callback(done)

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            batch = decode(SendBatch, record.value)
        except ContractError as exc:
            await self._dead_letter(record, str(exc))
            return
        try:
            error = await self._pipeline.process(batch)
        except UnknownCampaign as exc:
            error = str(exc)
        except Exception:
            log.exception("sender.batch_crashed", partition=tp.partition, offset=record.offset)
            raise
        if error:
            await self._dead_letter(record, error)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode(errors="replace") if record.key is not None else None,
            value=(record.value or b"").decode(errors="replace"),
            error=error[:2000],
            consumer_group=self._settings.consumer_group,
            failed_at=datetime.now(UTC),
        )
        producer = self._pipeline.producer
        target = dead_letter_name(record.topic)
        await durable(lambda: producer.send_and_wait(target, encode(letter), key=record.key))
        metrics.DEAD_LETTERED.labels(self._settings.consumer_group, record.topic).inc()
        log.warning(
            "sender.dead_lettered",
            partition=record.partition,
            offset=record.offset,
            error=error[:300],
        )

    async def _flush_every_interval(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self._settings.flush_interval_s)
            try:
                await self._flush_and_commit()
            except Exception as exc:  # retried next interval; offsets stay behind
                log.warning("sender.flush_failed", error=repr(exc))

    async def _flush_and_commit(self, tps: set[TopicPartition] | None = None) -> None:
        async with self._commit_lock:
            offsets = self._tracker.to_commit(tps)
            await self._accounting.flush()
            consumer = self._consumer
            owned = {tp: o for tp, o in offsets.items() if consumer and tp in consumer.assignment()}
            if not owned or consumer is None:
                return
            try:
                await consumer.commit(owned)
            except (CommitFailedError, KafkaError) as exc:
                log.warning("sender.commit_failed", error=repr(exc))
                return
            self._tracker.committed(owned)
            metrics.COMMITS.labels(self._settings.consumer_group).inc()

    async def _drain(self, tps: set[TopicPartition]) -> None:
        """Wait (bounded) for the batches of `tps`; cancel the ones still running after that."""
        tasks = {t for tp in tps for t in self._tasks.get(tp, set())}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._settings.revoke_wait_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
            log.warning("sender.batches_abandoned", batches=len(late))

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        """Finish, flush and commit the revoked partitions' batches, then forget them."""
        await self._drain(revoked)
        try:
            await self._flush_and_commit(revoked)
        except Exception as exc:
            log.warning("sender.revoke_flush_failed", error=repr(exc))
        self._tracker.forget(revoked)
        for tp in revoked:
            self._tasks.pop(tp, None)
        self.assignment -= revoked
        log.info("sender.revoked", partitions=sorted(tp.partition for tp in revoked))

    def assigned(self, assigned: set[TopicPartition]) -> None:
        """Recompute this instance's share of every provider's rate budget."""
        self.assignment = set(assigned)
        total = self._total_partitions()
        self._providers.set_share(len(assigned), total)
        metrics.ASSIGNED_PARTITIONS.labels(self._settings.consumer_group).set(len(assigned))
        log.info(
            "sender.assigned",
            partitions=sorted(tp.partition for tp in assigned),
            total=total,
            rate_share=len(assigned) / total if total else 0,
        )

    def _total_partitions(self) -> int:
        known = self._consumer.partitions_for_topic(self._topic) if self._consumer else None
        if known:
            return len(known)
        return next(s.partitions for s in TOPIC_SPECS if s.topic is Topic.EMAIL_SENDS)
