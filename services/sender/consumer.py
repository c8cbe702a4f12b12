"""The sender's consumer: `email.sends` through the shared runner, many batches at once.

    record → decode SendBatch → pipeline (outcome recorded, events published, count queued)
    every flush interval: watermarks → counts flushed, provider waits renewed → offsets committed

A concurrent strategy runs up to `max_in_flight` batches; a batch's offset is
committable once its outcome was recorded, its events acknowledged and its count
queued, and the counts are flushed before the offsets below them are committed.
A batch retrying for hours (the provider keeps throttling) holds one in-flight
slot and its partition's watermark meanwhile: later batches of that partition
still run and are recorded, but their offsets wait for it; after a crash they
are redelivered and replay their recorded outcomes without any ESP call.
Partitions assigned or revoked change this instance's share of every provider's
send rate.
"""

from __future__ import annotations

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition

from services.sender.accounting import Accounting
from services.sender.campaigns import UnknownCampaign
from services.sender.config import Settings
from services.sender.pipeline import SendPipeline
from services.sender.providers.registry import ProviderPool
from services.sender.waiting import ProviderWaits
from shared import metrics
from shared.contracts.fast_sends import decode_sends
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.concurrent import Concurrent
from shared.kafka.strategy import InvalidMessage, KafkaRecord
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


class SendWork:
    """One record of `email.sends` through the pipeline; the rate share on assignment."""

    def __init__(self, pipeline: SendPipeline, providers: ProviderPool, topic: str) -> None:
        self._pipeline = pipeline
        self._providers = providers
        self._topic = topic

    async def __call__(self, record: KafkaRecord) -> None:
        """Send one batch; a batch that can never be sent is dead-lettered."""
        batch = decode_sends(record.value)
        with metrics.SEND_BATCHES_IN_FLIGHT.track_inprogress():
            try:
                error = await self._pipeline.process(batch)
            except UnknownCampaign as exc:
                raise InvalidMessage(str(exc)) from exc
        if error:
            raise InvalidMessage(error)

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        """Recompute this instance's share of every provider's rate budget."""
        total = len(await self._producer.partitions_for(self._topic))
        self._providers.set_share(len(assigned), total)
        log.info(
            "sender.assigned",
            partitions=sorted(tp.partition for tp in assigned),
            total=total,
            rate_share=len(assigned) / total if total else 0,
        )

    @property
    def _producer(self) -> AIOKafkaProducer:
        return self._pipeline.producer


# Beyond the drain on revocation: time to commit what the drain finished and rejoin.
REJOIN_MARGIN_MS = 10_000


def consumer_options(settings: Settings) -> ConsumerOptions:
    """The group session of `FANOUT_SENDER_SESSION_TIMEOUT_MS`, and a rebalance timeout
    longer than the drain on revocation (`revoke_wait_s`): with aiokafka's default (the
    session timeout) a member still finishing its in-flight batches would be dropped from
    the group and its partitions handed on while those batches' ESP calls were running,
    which the duplicate bound does not allow for before `revoke_wait_s`."""
    drain_ms = int(settings.revoke_wait_s * 1000)
    return ConsumerOptions(
        session_timeout_ms=settings.session_timeout_ms,
        rebalance_timeout_ms=max(settings.session_timeout_ms, drain_ms + REJOIN_MARGIN_MS),
    )


def sends_consumer(
    settings: Settings,
    pipeline: SendPipeline,
    accounting: Accounting,
    waits: ProviderWaits,
    providers: ProviderPool,
) -> Runner:
    """The runner of `email.sends` for this sender instance."""
    topic = topic_name(Topic.EMAIL_SENDS, settings.common.topic_prefix)
    work = SendWork(pipeline, providers, topic)

    async def before_commit() -> None:
        await accounting.flush()
        await waits.flush(pipeline.ledger.pool)

    return Runner(
        common=settings.common,
        group=settings.consumer_group,
        topics=[topic],
        strategy=lambda ctx: Concurrent(
            ctx, work=work, max_in_flight=settings.max_in_flight, before_commit=before_commit
        ),
        producer=pipeline.producer,
        options=RunnerOptions(
            consumer=consumer_options(settings),
            commit_interval_s=settings.flush_interval_s,
            drain_timeout_s=settings.revoke_wait_s,
        ),
        on_assign=work.assigned,
    )
