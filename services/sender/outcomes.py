"""Outcome events: one per recipient of a batch, with the deterministic outcome event id.

A lead has one outcome event id per campaign whatever the outcome, so a batch
resent after a crash produces events that reports apply once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from aiokafka import AIOKafkaProducer

from shared.contracts import EmailEvent, EventBatch, EventType, encode
from shared.contracts.events import outcome_event_id
from shared.contracts.sends import Recipient


@dataclass(frozen=True)
class Outcome:
    """The terminal send outcome of one recipient."""

    recipient: Recipient
    type: EventType
    provider_message_id: str = ""
    reason: str = ""


@dataclass(frozen=True)
class BatchTally:
    """How many recipients of one send batch ended in each terminal outcome."""

    campaign_id: UUID
    batch_no: int
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, campaign_id: UUID, batch_no: int, outcomes: list[Outcome]) -> BatchTally:
        """Count `outcomes` by type."""
        types = [o.type for o in outcomes]
        return cls(
            campaign_id=campaign_id,
            batch_no=batch_no,
            sent=types.count(EventType.SENT),
            failed=types.count(EventType.FAILED),
            suppressed=types.count(EventType.SUPPRESSED),
            cancelled=types.count(EventType.CANCELLED),
        )


def outcome_event(
    outcome: Outcome, *, account_id: UUID, campaign_id: UUID, provider: str
) -> EventBatch:
    """The `email.events` value of one outcome."""
    lead = outcome.recipient.lead_id
    return EventBatch(
        events=[
            EmailEvent(
                event_id=outcome_event_id(campaign_id, lead),
                account_id=account_id,
                campaign_id=campaign_id,
                lead_id=lead,
                email=outcome.recipient.email,
                type=outcome.type,
                provider=provider[:32],
                provider_message_id=outcome.provider_message_id,
                reason=outcome.reason[:1000],
                occurred_at=datetime.now(UTC),
            )
        ]
    )


async def publish_outcomes(
    producer: AIOKafkaProducer,
    topic: str,
    outcomes: list[Outcome],
    *,
    account_id: UUID,
    campaign_id: UUID,
    provider: str,
) -> None:
    """Send one event per outcome and wait until Kafka acknowledged every one."""
    acks = []
    for outcome in outcomes:
        value = outcome_event(
            outcome, account_id=account_id, campaign_id=campaign_id, provider=provider
        )
        acks.append(await producer.send(topic, encode(value), key=value.key()))
    await asyncio.gather(*acks)
