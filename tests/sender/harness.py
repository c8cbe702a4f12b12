"""The sender's pipeline in-process on the real Postgres, broker and simulator, with crashes.

`Harness` builds the pipeline as `services.sender.main` does, around any provider:
the ESP simulator's adapter, or a wrapper that dies (`Killed`, like SIGKILL) right
after the provider answered. Batches are the resolver's batches of a seeded
campaign; suppressions are written by webhook_ingest's own writer.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.sender.accounting import Accounting
from services.sender.attempt import Attempter
from services.sender.backoff import RetryPolicy
from services.sender.campaigns import SpecCache
from services.sender.config import Settings as SenderSettings
from services.sender.ledger import Ledger
from services.sender.pipeline import SendPipeline
from services.sender.providers.base import EmailProvider, RecipientResult, SendRequest
from services.sender.providers.registry import ProviderPool
from services.sender.rate import SendRate
from services.sender.render import LinkSigner
from services.sender.render_guard import RenderGuard
from services.sender.waiting import ProviderWaits
from services.webhook_ingest import suppressions
from shared.contracts import EmailEvent, EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch
from shared.kafka.producer import make_producer
from shared.settings import CommonSettings
from shared.topics import Topic, topic_name
from tests.send_path import Seeded

FAST = RetryPolicy(initial_s=0.01, max_s=0.05, jitter_s=0.0)


class Killed(BaseException):  # noqa: N818 - stands for SIGKILL: nothing catches it
    """The process died here."""


class CrashAfterCalls:
    """A provider that dies once `calls` calls were answered (the answers are lost)."""

    def __init__(self, inner: EmailProvider, calls: int = 1) -> None:
        self.name = inner.name
        self._inner = inner
        self._left = calls

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        answers = await self._inner.send_batch(request)
        self._left -= 1
        if self._left <= 0:
            raise Killed
        return answers

    async def max_send_rate(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None


class CrashingProducer:
    """A producer that dies on its first send (after the outcome was recorded)."""

    async def send_and_wait(self, *_args: Any, **_kwargs: Any) -> None:
        raise Killed


@dataclass
class Harness:
    """One sender instance's pipeline and what it is made of."""

    pipeline: SendPipeline
    accounting: Accounting
    specs: SpecCache
    waits: ProviderWaits


@asynccontextmanager
async def harness(
    pool: asyncpg.Pool,
    common: CommonSettings,
    provider: EmailProvider,
    *,
    policy: RetryPolicy = FAST,
    producer: Any = None,
    guard: RenderGuard | None = None,
    spec_ttl_s: float = 1.0,
) -> AsyncIterator[Harness]:
    """A pipeline on `provider` (registered as the simulator), started producer included."""
    real = make_producer(common)
    await real.start()
    try:
        providers = ProviderPool(SenderSettings())
        providers.register("simulator", provider, SendRate(0))
        specs, waits = SpecCache(pool, ttl_s=spec_ttl_s), ProviderWaits()
        accounting = Accounting(pool)
        book = Ledger(pool)
        attempter = Attempter(
            pool=pool,
            ledger=book,
            specs=specs,
            providers=providers,
            signer=LinkSigner("secret", "https://unsub.example"),
            domain="fanout.test",
            policy=policy,
            waits=waits,
            guard=guard or RenderGuard(0.5, 1_000_000),
        )
        pipeline = SendPipeline(
            ledger=book,
            producer=producer or real,
            events_topic=topic_name(Topic.EMAIL_EVENTS, common.topic_prefix),
            specs=specs,
            accounting=accounting,
            attempter=attempter,
        )
        yield Harness(pipeline, accounting, specs, waits)
    finally:
        await real.stop()


async def resolved_batches(
    pool: asyncpg.Pool, seeded: Seeded, size: int = 50
) -> list[FastSendBatch]:
    """The campaign's matching leads as the resolver would emit them; the campaign `sending`."""
    leads = await pool.fetch(
        "SELECT id, email, first_name, country FROM leads WHERE id = ANY($1::uuid[]) ORDER BY id",
        list(seeded.matching),
    )
    recipients = [
        FastRecipient(
            lead_id=r["id"],
            email=r["email"],
            merge_vars={"first_name": r["first_name"], "country": r["country"]},
        )
        for r in leads
    ]
    batches = [
        FastSendBatch(
            campaign_id=seeded.campaign_id,
            account_id=seeded.account_id,
            run_id=seeded.run_id,
            batch_no=n,
            recipients=recipients[i : i + size],
        )
        for n, i in enumerate(range(0, len(recipients), size))
    ]
    await pool.execute(
        "UPDATE campaigns SET state = 'sending', resolve_done = true, matched = $2, "
        "enqueued = $2, batches_emitted = $3, checkpoint_lead_id = $4 WHERE id = $1",
        seeded.campaign_id,
        len(recipients),
        len(batches),
        leads[-1]["id"] if leads else None,
    )
    return batches


async def bounce(pool: asyncpg.Pool, seeded: Seeded, emails: Sequence[str]) -> None:
    """Hard bounces of this campaign's emails, recorded as webhook_ingest records them."""
    events = [
        EmailEvent(
            event_id=uuid.uuid4(),
            account_id=seeded.account_id,
            campaign_id=seeded.campaign_id,
            lead_id=uuid.uuid4(),
            email=email,
            type=EventType.BOUNCED,
            provider="simulator",
            bounce_type="hard",
            reason="550 user unknown",
            occurred_at=datetime.now(UTC),
        )
        for email in emails
    ]
    async with pool.acquire() as conn, conn.transaction():
        await suppressions.apply(conn, suppressions.Changes.of(events), threshold=3)
