"""`python -m services.lead_resolver`: stream launched campaigns onto `email.sends`.

Resources: the Postgres pool and the producer. Workers: the command consumer
(a sequential strategy on `campaign.launches`, whose partitions decide which
campaigns this instance owns), the resolver's scheduler, and the listener of the
sender's counting flushes, which wakes the scheduler when outcomes were counted (room
under the window) instead of it polling.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition

from services.lead_resolver.commands import CommandHandler
from services.lead_resolver.config import Settings
from services.lead_resolver.resolver import Resolver
from shared.campaigns.changes import PROGRESS_CHANNEL
from shared.contracts import CampaignCommand
from shared.kafka.consumer import ConsumerOptions
from shared.kafka.runner import Runner, RunnerOptions
from shared.kafka.strategies.sequential import Sequential
from shared.notifications import Listener
from shared.service import Started, operations_app, run_service
from shared.service.connections import open_connections
from shared.topics import Topic, topic_name

log = structlog.get_logger(__name__)


def command_consumer(settings: Settings, resolver: Resolver, producer: AIOKafkaProducer) -> Runner:
    """The runner of `campaign.launches`: each command admits its campaign; partitions
    assigned and revoked move campaign ownership."""
    launches = topic_name(Topic.CAMPAIGN_LAUNCHES, settings.common.topic_prefix)

    async def on_assign(assigned: set[TopicPartition]) -> None:
        total = len(await producer.partitions_for(launches))
        await resolver.own({tp.partition for tp in assigned}, total)
        log.info("resolver.owns", partitions=sorted(tp.partition for tp in assigned), total=total)

    async def on_revoke(revoked: set[TopicPartition]) -> None:
        await resolver.disown({tp.partition for tp in revoked})

    handler = CommandHandler(resolver)
    return Runner(
        common=settings.common,
        group=settings.consumer_group,
        topics=[launches],
        strategy=lambda ctx: Sequential(ctx, model=CampaignCommand, handle=handler),
        producer=producer,
        # commands are few: each is committed once its campaign is admitted
        options=RunnerOptions(
            consumer=ConsumerOptions(session_timeout_ms=settings.session_timeout_ms),
            commit_interval_s=0,
        ),
        on_assign=on_assign,
        on_revoke=on_revoke,
    )


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres and Kafka; the command consumer and the scheduler run beside /healthz."""
    common = settings.common
    connections = await open_connections(stack, common, pool_size=settings.db_pool_size)
    producer = connections.producer
    sends = topic_name(Topic.EMAIL_SENDS, common.topic_prefix)
    resolver = Resolver(settings, connections.pool, producer, sends)
    commands = command_consumer(settings, resolver, producer)
    progress = Listener(
        common.database_url,
        {PROGRESS_CHANNEL: lambda _campaign: resolver.wake()},
        reset=resolver.wake,
        application_name="fanout-resolver-progress",
    )
    checks = {**connections.checks(), "consumer": commands.check}
    app = operations_app("Fanout lead resolver", checks, ops_token=common.secret("ops_token"))
    return Started(app, workers=[commands.run, resolver.run, progress.run])


def main() -> None:
    """Entry point of `python -m services.lead_resolver`."""
    run_service("lead_resolver", Settings, start)
