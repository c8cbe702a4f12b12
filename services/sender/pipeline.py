"""One send batch, from the record to acknowledged outcome events and a queued tally.

    spec (cached) → cancelled? → suppressed since resolving? → render → ESP (retries)
      → outcome events (acknowledged) → tally queued for the next flush

A batch whose provider stopped parks its undecided recipients and pauses the
campaign instead (see `deferrals`). Steps that touch Postgres or Kafka are
retried until they succeed, so a batch either finishes or its task is
cancelled (shutdown, revocation) and the record is redelivered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from services.sender.accounting import Accounting
from services.sender.campaigns import CampaignSpec, SpecCache
from services.sender.deferrals import Parked, park_batch
from services.sender.delivery import Delivery, RetryPolicy, deliver
from services.sender.outcomes import BatchTally, Outcome, publish_outcomes
from services.sender.providers.base import SendRequest
from services.sender.providers.registry import ProviderPool, ProviderUnavailable
from services.sender.render import LinkSigner, render_batch
from shared import metrics
from shared.contracts import EventType, Recipient, SendBatch
from shared.retry import retryable

log = structlog.get_logger(__name__)
T = TypeVar("T")

SUPPRESSED = """
SELECT email FROM suppressions WHERE account_id = $1 AND email = ANY($2::text[])
UNION
SELECT email FROM leads WHERE id = ANY($3::uuid[]) AND unsubscribed_at IS NOT NULL
"""


async def durable(step: Callable[[], Awaitable[T]]) -> T:
    """Run a Postgres/Kafka step until it succeeds (backoff with jitter, capped at 10 s)."""
    async for attempt in AsyncRetrying(
        wait=wait_exponential_jitter(max=10), retry=retry_if_exception(retryable)
    ):
        with attempt:
            return await step()
    raise AssertionError("unreachable")


@dataclass
class SendPipeline:
    """Everything one batch needs; `process` is the whole pipeline."""

    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    events_topic: str
    specs: SpecCache
    providers: ProviderPool
    accounting: Accounting
    signer: LinkSigner
    domain: str
    policy: RetryPolicy

    async def process(self, batch: SendBatch) -> str:
        """Handle one batch; returns "" or the reason it belongs in the dead-letter topic."""
        spec = await durable(lambda: self.specs.get(batch.campaign_id))
        if spec.cancelled:
            await self._finish(batch, spec, [_cancelled(r) for r in batch.recipients])
            return ""
        outcomes, to_send = await self._screen(batch, spec)
        emails, unrendered = await render_batch(spec, to_send, self.signer, self.domain)
        outcomes += [Outcome(r, EventType.FAILED, reason=str(exc)) for r, exc in unrendered]
        if not emails:
            await self._finish(batch, spec, outcomes)
            return ""
        try:
            provider, rate = await self.providers.get(spec.provider)
        except ProviderUnavailable as exc:
            delivery = Delivery(undecided=emails, stopped_reason=str(exc))
        else:
            request = SendRequest(
                spec.account_id,
                spec.campaign_id,
                spec.from_email,
                spec.from_name,
                spec.reply_to,
                emails,
            )
            delivery = await deliver(provider, rate, request, self.policy)
        by_lead = {r.lead_id: r for r in to_send}
        outcomes += _delivered(delivery, by_lead)
        if delivery.undecided:
            undecided = [by_lead[e.lead_id] for e in delivery.undecided]
            await self._park(batch, spec, outcomes, undecided, delivery.stopped_reason)
            return ""
        await self._finish(batch, spec, outcomes)
        return delivery.exhausted_reason

    async def _screen(
        self, batch: SendBatch, spec: CampaignSpec
    ) -> tuple[list[Outcome], list[Recipient]]:
        """Recipients suppressed or unsubscribed since the resolver emitted them."""
        emails = sorted(
            {r.email for r in batch.recipients} | {r.email.lower() for r in batch.recipients}
        )
        leads = [r.lead_id for r in batch.recipients]
        rows = await durable(lambda: self.pool.fetch(SUPPRESSED, spec.account_id, emails, leads))
        blocked = {row["email"].lower() for row in rows}
        outcomes = [
            Outcome(r, EventType.SUPPRESSED, reason="suppressed since the campaign was resolved")
            for r in batch.recipients
            if r.email.lower() in blocked
        ]
        return outcomes, [r for r in batch.recipients if r.email.lower() not in blocked]

    async def _finish(self, batch: SendBatch, spec: CampaignSpec, outcomes: list[Outcome]) -> None:
        await self._publish(batch, spec, outcomes)
        self.accounting.record(BatchTally.of(batch.campaign_id, batch.batch_no, outcomes))

    async def _publish(self, batch: SendBatch, spec: CampaignSpec, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        await durable(
            lambda: publish_outcomes(
                self.producer,
                self.events_topic,
                outcomes,
                account_id=batch.account_id,
                campaign_id=batch.campaign_id,
                provider=spec.provider,
            )
        )
        for kind in {o.type for o in outcomes}:
            metrics.EMAILS.labels(spec.provider, kind.value).inc(
                sum(1 for o in outcomes if o.type is kind)
            )

    async def _park(
        self,
        batch: SendBatch,
        spec: CampaignSpec,
        outcomes: list[Outcome],
        undecided: list[Recipient],
        reason: str,
    ) -> None:
        await self._publish(batch, spec, outcomes)
        tally = BatchTally.of(batch.campaign_id, batch.batch_no, outcomes)
        parked = await durable(lambda: park_batch(self.pool, tally, undecided, reason))
        log.warning(
            "sender.provider_stopped",
            campaign_id=str(batch.campaign_id),
            batch_no=batch.batch_no,
            undecided=len(undecided),
            result=parked.value,
            reason=reason,
        )
        if parked is Parked.CLOSED:
            cancelled = [_cancelled(r) for r in undecided]
            await self._publish(batch, spec, cancelled)
            self.accounting.record(
                BatchTally.of(batch.campaign_id, batch.batch_no, outcomes + cancelled)
            )


def _cancelled(recipient: Recipient) -> Outcome:
    return Outcome(recipient, EventType.CANCELLED, reason="campaign cancelled")


def _delivered(delivery: Delivery, by_lead: dict[UUID, Recipient]) -> list[Outcome]:
    sent = [
        Outcome(by_lead[lead], EventType.SENT, provider_message_id=pid)
        for lead, pid in delivery.sent.items()
    ]
    failed = [
        Outcome(by_lead[lead], EventType.FAILED, reason=reason)
        for lead, reason in delivery.failed.items()
    ]
    return sent + failed
