"""The outbox relay: publishes unpublished outbox rows to Kafka, in id order.

One pass: lock a small batch (FOR UPDATE SKIP LOCKED) → publish with the
idempotent producer → wait for every acknowledgement → mark `published_at` →
commit. A row is marked only after Kafka acknowledged it, so a command that
answered 202 is never lost: while Kafka is down the relay backs off and keeps
retrying. A crash between the acknowledgement and the commit republishes the
batch; that is harmless because lead_resolver treats commands idempotently
per (campaign, run_id, kind).

A transaction-level advisory lock lets only one relay publish at a time, so
commands leave in the order they were written even with several API
instances (a campaign's pause never overtakes its launch).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.campaign_api.campaigns.outbox import NOTIFY_CHANNEL
from shared import metrics
from shared.db import fetch_if_first
from shared.kafka.producer import make_producer
from shared.notifications import Wakeup
from shared.periodic import Clock, Every
from shared.settings import CommonSettings

log = structlog.get_logger(__name__)

RELAY_LOCK = 0x0F_A0_07_0B  # advisory lock key: "one relay publishes at a time"
PENDING = """
SELECT id, topic, key, payload FROM outbox
WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
RETRYABLE = (
    KafkaError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a pooled connection met by a Postgres fast shutdown
    TimeoutError,
)
PURGE = "DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)"
PURGE_EVERY_S = 3600.0


async def relay_once(pool: asyncpg.Pool, producer: AIOKafkaProducer, batch_size: int) -> int:
    """Publish one batch of pending rows; returns how many were published."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await fetch_if_first(conn, RELAY_LOCK, PENDING, batch_size)
        if not rows:
            return 0
        acks = [await producer.send(r["topic"], r["payload"], key=r["key"]) for r in rows]
        await asyncio.gather(*acks)
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
    metrics.OUTBOX_RELAYED.inc(len(rows))
    return len(rows)


@dataclass(frozen=True)
class RelayPacing:
    """Rows per pass, the idle poll, the longest back-off while Kafka or Postgres is down,
    and how many days published rows are kept."""

    batch_size: int = 100
    poll_seconds: float = 5.0  # a fallback: NOTIFY (and every reconnect of the listener) wakes it
    max_backoff: float = 5.0
    keep_days: int = 7


class OutboxRelay:
    """Runs `relay_once` until stopped, woken by NOTIFY (`shared.notifications.Wakeup`: also
    whenever its listener connects again, so a command is never left waiting for the
    fallback poll, every `poll_seconds`, while the listener works)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        common: CommonSettings,
        pacing: RelayPacing = RelayPacing(),
        *,
        producer_factory: Callable[[CommonSettings], AIOKafkaProducer] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.pool = pool
        self.common = common
        self.pacing = pacing
        self._purges = Every(PURGE_EVERY_S, clock)
        self._factory = producer_factory or (lambda c: make_producer(c, request_timeout_ms=10_000))
        self._wakeup = Wakeup(
            common.database_url, [NOTIFY_CHANNEL], application_name="fanout-outbox-relay"
        )
        self._producer: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """The worker: relay until `stop` is set (a `shared.service.Worker`)."""
        async with self._wakeup.running(stop):
            await self._relay(stop)

    async def _relay(self, stop: asyncio.Event) -> None:
        backoff, pacing = 0.2, self.pacing
        try:
            while not stop.is_set():
                try:
                    published = await relay_once(self.pool, await self._ready(), pacing.batch_size)
                    await self._purge()
                    backoff = 0.2
                except RETRYABLE as exc:
                    log.warning("outbox.relay_failed", error=repr(exc), retry_in=backoff)
                    await self._drop_producer()
                    await self._wakeup.wait(stop, backoff)
                    backoff = min(backoff * 2, pacing.max_backoff)
                    continue
                if published < pacing.batch_size:
                    await self._wakeup.wait(stop, pacing.poll_seconds)
        finally:
            await self._drop_producer()

    async def _purge(self) -> None:
        """Published rows are kept `keep_days` for inspection, then deleted (at start, hourly)."""
        if self._purges.take():
            await self.pool.execute(PURGE, self.pacing.keep_days)

    async def _ready(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._factory(self.common)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(*RETRYABLE):
                await producer.stop()
