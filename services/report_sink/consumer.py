"""The sink's consumer, readable top to bottom:

    poll → decode (invalid → dead-letter) → accumulate (≤ N events or T seconds)
         → one insert → commit
                      ↘ the campaigns it touched → the summary worker (`summary.py`)

A batched strategy on the shared runner: polls accumulate into one batch until
it holds `batch_max_events` events or its first record waited
`batch_max_seconds`; then ONE insert with a token made of the batch's offset
ranges, while the next batch accumulates; the offsets are committed only after
the insert returned. A failed insert is retried (same body, same token) with
back-off until it succeeds; the offsets stay uncommitted meanwhile, so nothing is
lost and the lag simply grows. After the first refusal every record is checked
strictly and the ones breaking the contract go to the dead-letter topic. A
redelivered batch (crash before the commit, a rebalance, a batch cut
differently) re-inserts events already stored: reports stay exact because every
table dedups by event id (docs/reports.md, "Idempotence").
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition

from services.report_sink.config import Settings
from services.report_sink.decode import Rows, event_rows, strict_rows
from services.report_sink.sink import EventWriter
from services.report_sink.summary import CampaignSummaries
from shared import metrics
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.batch import Batch
from shared.kafka.strategies.batched import Batched
from shared.kafka.strategy import Backoff, KafkaRecord
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)

EVENTS_PER_RECORD_HINT = 50  # sizes the first poll before events per record are measured


class EventsStep:
    """The sink's part of the batched strategy: records to JSONEachRow rows, one insert,
    then the campaigns it touched handed to the summary worker (which only notes them)."""

    def __init__(self, writer: EventWriter, summaries: CampaignSummaries | None) -> None:
        self._writer = writer
        self._summaries = summaries
        self.inserted_events = 0  # since start, duplicates included (tests, benchmarks)

    def decode(self, record: KafkaRecord) -> tuple[Rows, int]:
        """The record's rows (fast path) and how many events they hold."""
        rows = event_rows(record.value)
        return rows, rows.events

    def recheck(self, record: KafkaRecord) -> tuple[Rows, int]:
        """The record's rows through the full contract (after a refused insert)."""
        rows = strict_rows(record.value)
        return rows, rows.events

    async def write(self, batch: Batch[Rows]) -> None:
        """One insert, deduplicated by the batch's token."""
        await self._writer.insert(b"\n".join(rows.body for rows in batch.values()), batch.token())
        metrics.SINK_EVENTS.inc(batch.weight)
        self.inserted_events += batch.weight
        if self._summaries is not None:
            self._summaries.touched({pair for rows in batch.values() for pair in rows.campaigns})
        log.info("sink.inserted", events=batch.weight, records=batch.count)


class SinkConsumer:
    """Consumes `email.events` into ClickHouse as the `report_sink` group."""

    def __init__(
        self,
        settings: Settings,
        writer: EventWriter,
        producer: AIOKafkaProducer,
        summaries: CampaignSummaries | None = None,
    ) -> None:
        self.group = settings.consumer_group
        self.topic = topic_name(Topic.EMAIL_EVENTS, settings.common.topic_prefix)
        self.assigned = asyncio.Event()  # set once the group gave this consumer partitions
        self._summaries = summaries
        self._step = EventsStep(writer, summaries)
        self._runner = Runner(
            common=settings.common,
            group=self.group,
            topics=[self.topic],
            strategy=lambda ctx: Batched(
                ctx,
                step=self._step,
                max_weight=settings.batch_max_events,
                max_seconds=settings.batch_max_seconds,
                backoff=Backoff(settings.retry_backoff_s, settings.max_retry_backoff_s),
                weight_hint=EVENTS_PER_RECORD_HINT,
                max_writes=writer.concurrency,  # inserts are idempotent and order-free
            ),
            producer=producer,
            options=RunnerOptions(
                consumer=ConsumerOptions(
                    max_poll_records=settings.poll_max_records,
                    fetch_max_bytes=64 * 1024 * 1024,
                    max_partition_fetch_bytes=8 * 1024 * 1024,
                    fetch_min_bytes=settings.fetch_min_bytes,
                    fetch_max_wait_ms=settings.fetch_max_wait_ms,
                )
            ),
            on_assign=self._on_assign,
        )

    @property
    def inserted_events(self) -> int:
        """Events inserted since start, duplicates included (tests, benchmarks)."""
        return self._step.inserted_events

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the last batch is inserted and committed then, and
        the summaries it touched are recomputed after it."""
        if self._summaries is None:
            await self._runner.run(stop)
            return
        summaries_stop = asyncio.Event()
        summaries = asyncio.create_task(self._summaries.run(summaries_stop))
        try:
            await self._runner.run(stop)
        finally:
            summaries_stop.set()
            await summaries

    async def check(self) -> str:
        """Readiness: the consumer is consuming (`Runner.check`)."""
        return await self._runner.check()

    async def _on_assign(self, _: set[TopicPartition]) -> None:
        self.assigned.set()
        if self._summaries is not None:  # an instance that left may owe recomputes
            self._summaries.sweep_soon()
