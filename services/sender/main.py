"""`python -m services.sender`: consume `email.sends`, send through the ESPs, emit outcomes.

Resources: the Postgres pool, the producer and the ESP clients. Workers: the
consumer of `email.sends` (`services.sender.consumer`) and the listener of
campaign state changes, which drops a campaign's cached spec the moment a pause
or cancel commits (`shared.campaigns.ChangeListener`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack, aclosing
from uuid import UUID

from services.sender.accounting import Accounting
from services.sender.attempt import Attempter
from services.sender.backoff import RetryPolicy
from services.sender.campaigns import SpecCache
from services.sender.config import Settings
from services.sender.consumer import sends_consumer
from services.sender.ledger import Ledger
from services.sender.pipeline import SendPipeline
from services.sender.providers.registry import ProviderPool
from services.sender.render import LinkSigner
from services.sender.render_guard import RenderGuard
from services.sender.waiting import ProviderWaits
from shared import metrics
from shared.campaigns import ChangeListener
from shared.db import GENERIC_INDEX_PROBES
from shared.service import Started, operations_app, run_service
from shared.service.connections import open_connections
from shared.topics import Topic, topic_name


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry settings as the delivery step takes them."""
    return RetryPolicy(
        deadline_s=settings.retry_deadline_s,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        jitter_s=settings.retry_jitter_s,
    )


def spec_listener(settings: Settings, specs: SpecCache) -> ChangeListener:
    """The listener that invalidates `specs` on every announced campaign change."""

    def changed(campaign_id: UUID) -> None:
        metrics.CAMPAIGN_CHANGES.labels("changed").inc()
        specs.invalidate(campaign_id)

    def reset() -> None:
        metrics.CAMPAIGN_CHANGES.labels("reset").inc()
        specs.invalidate_all()

    return ChangeListener(settings.common.database_url, changed=changed, reset=reset)


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres, Kafka and the providers; the consumer runs beside /healthz."""
    common = settings.common
    # every statement looks batches, leads and addresses up by key, from its generic plan
    # (shared.db.GENERIC_INDEX_PROBES)
    connections = await open_connections(
        stack, common, pool_size=settings.db_pool_size, planner=GENERIC_INDEX_PROBES
    )
    pool, producer = connections.pool, connections.producer
    providers = await stack.enter_async_context(aclosing(ProviderPool(settings)))
    specs = SpecCache.from_settings(pool, settings)
    waits = ProviderWaits()
    accounting = Accounting(pool)
    book = Ledger(pool, max_batches=settings.ledger_batches, linger_s=settings.ledger_linger_s)
    attempter = Attempter(
        pool=pool,
        ledger=book,
        specs=specs,
        providers=providers,
        signer=LinkSigner(common.secret("link_secret"), common.public_base_url),
        domain=settings.message_id_domain,
        policy=retry_policy(settings),
        waits=waits,
        guard=RenderGuard(settings.render_pause_ratio, settings.render_pause_min),
    )
    pipeline = SendPipeline(
        ledger=book,
        producer=producer,
        events_topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
        specs=specs,
        accounting=accounting,
        attempter=attempter,
    )
    consumer = sends_consumer(settings, pipeline, accounting, waits, providers)
    listener = spec_listener(settings, specs)
    checks = {**connections.checks(), "consumer": consumer.check}
    app = operations_app("Fanout sender", checks, ops_token=common.secret("ops_token"))
    return Started(app, workers=[consumer.run, listener.run])


def main() -> None:
    """Entry point of `python -m services.sender`."""
    run_service("sender", Settings, start)
