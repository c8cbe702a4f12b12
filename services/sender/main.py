"""`python -m services.sender`: consume `email.sends`, send through the ESPs, emit outcomes.

Resources: the Postgres pool, the producer and the ESP clients. Worker: the
consumer of `email.sends` (`services.sender.consumer`).
"""

from __future__ import annotations

from contextlib import AsyncExitStack, aclosing

from services.sender.accounting import Accounting
from services.sender.campaigns import SpecCache
from services.sender.config import Settings
from services.sender.consumer import sends_consumer
from services.sender.delivery import RetryPolicy
from services.sender.pipeline import SendPipeline
from services.sender.providers.registry import ProviderPool
from services.sender.render import LinkSigner
from shared.service import Started, operations_app, run_service
from shared.service.connections import open_connections
from shared.topics import Topic, topic_name


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry settings as the delivery step takes them."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        initial_s=settings.retry_initial_s,
        max_s=settings.retry_max_s,
        jitter_s=settings.retry_jitter_s,
    )


async def start(settings: Settings, stack: AsyncExitStack) -> Started:
    """Open Postgres, Kafka and the providers; the consumer runs beside /healthz."""
    common = settings.common
    connections = await open_connections(stack, common, pool_size=settings.db_pool_size)
    pool, producer = connections.pool, connections.producer
    providers = await stack.enter_async_context(aclosing(ProviderPool(settings)))
    accounting = Accounting(pool)
    pipeline = SendPipeline(
        pool=pool,
        producer=producer,
        events_topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
        specs=SpecCache(pool, settings.spec_ttl_s),
        providers=providers,
        accounting=accounting,
        signer=LinkSigner(common.secret("link_secret"), common.public_base_url),
        domain=settings.message_id_domain,
        policy=retry_policy(settings),
    )
    consumer = sends_consumer(settings, pipeline, accounting, providers)
    checks = {**connections.checks(), "consumer": consumer.check}
    app = operations_app("Fanout sender", checks, ops_token=common.secret("ops_token"))
    return Started(app, workers=[consumer.run])


def main() -> None:
    """Entry point of `python -m services.sender`."""
    run_service("sender", Settings, start)
