"""Outcome events: one per recipient of a batch, with the deterministic outcome event id.

A batch's outcome events travel together in one `email.events` value.

A lead has one outcome event id per campaign whatever the outcome, so a batch
re-emitted after a crash produces events that reports apply once. The outcomes
are recorded in Postgres before they are published (`services.sender.ledger`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from uuid import UUID

import msgspec
import orjson
from aiokafka import AIOKafkaProducer
from pydantic import TypeAdapter

from services.sender.ids import CampaignIds, uuid_texts
from shared.contracts import EmailEvent, EventBatch, EventType, encode
from shared.contracts.events import MAX_PROVIDER_LENGTH, outcome_event_id
from shared.contracts.fast_events import types_header
from shared.contracts.fast_sends import FastRecipient

_TIME = TypeAdapter(datetime)


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """The terminal send outcome of one recipient (a struct: one per email, made in C)."""

    recipient: FastRecipient
    type: EventType
    provider_message_id: str = ""
    reason: str = ""


# The terminal outcomes a batch's ledger row counts, in the order of its columns.
COUNTED = (EventType.SENT, EventType.FAILED, EventType.SUPPRESSED, EventType.CANCELLED)


def outcome_counts(outcomes: list[Outcome]) -> tuple[int, ...]:
    """How many of `outcomes` are of each type of `COUNTED`, in that order."""
    types = Counter(o.type for o in outcomes)
    return tuple(types[kind] for kind in COUNTED)


def outcome_events(
    outcomes: list[Outcome],
    *,
    account_id: UUID,
    campaign_id: UUID,
    provider: str,
    occurred_at: datetime,
) -> EventBatch:
    """The `email.events` value of a batch's outcomes: one event per recipient."""
    provider = provider[:MAX_PROVIDER_LENGTH]
    return EventBatch(
        events=[
            EmailEvent(
                event_id=outcome_event_id(campaign_id, outcome.recipient.lead_id),
                account_id=account_id,
                campaign_id=campaign_id,
                lead_id=outcome.recipient.lead_id,
                email=outcome.recipient.email,
                type=outcome.type,
                provider=provider,
                provider_message_id=outcome.provider_message_id,
                reason=outcome.reason[:1000],
                occurred_at=occurred_at,
            )
            for outcome in outcomes
        ]
    )


def encode_outcome_events(
    outcomes: list[Outcome],
    *,
    account_id: UUID,
    campaign_id: UUID,
    provider: str,
    occurred_at: datetime,
) -> tuple[bytes, bytes]:
    """The Kafka key and value of `outcome_events(...)`, byte for byte what `encode` makes of
    it (tests compare them), without building and validating a pydantic model per event:
    every value comes from a validated batch or is one of this module's own. A value orjson
    cannot write (text that is not valid Unicode) goes through pydantic."""
    provider = provider[:MAX_PROVIDER_LENGTH]
    account, campaign = str(account_id), str(campaign_id)
    at = orjson.Fragment(_TIME.dump_json(occurred_at))
    ids = CampaignIds(campaign_id)
    leads = uuid_texts(o.recipient.lead_id for o in outcomes)
    value = {
        "schema_version": 1,
        "events": [
            {
                "event_id": ids.outcome_event_id(lead),
                "account_id": account,
                "campaign_id": campaign,
                "lead_id": lead,
                "email": outcome.recipient.email,
                "type": outcome.type.value,
                "provider": provider,
                "provider_message_id": outcome.provider_message_id,
                "reason": outcome.reason[:1000],
                "bounce_type": None,
                "occurred_at": at,
            }
            for outcome, lead in zip(outcomes, leads, strict=True)
        ],
    }
    try:
        return f"{campaign}:{leads[0]}".encode(), orjson.dumps(value)
    except orjson.JSONEncodeError:
        batch = outcome_events(
            outcomes,
            account_id=account_id,
            campaign_id=campaign_id,
            provider=provider,
            occurred_at=occurred_at,
        )
        return batch.key(), encode(batch)


async def publish_outcomes(
    producer: AIOKafkaProducer,
    topic: str,
    outcomes: list[Outcome],
    *,
    account_id: UUID,
    campaign_id: UUID,
    provider: str,
    occurred_at: datetime,
) -> None:
    """Send a batch's outcomes as one value and wait until Kafka acknowledged it.

    One value per send batch (at most 50 events, keyed campaign id + first lead id)
    rather than one per recipient: aiokafka's per-record cost was ~35 µs of CPU, the
    largest single cost of the sender. The event ids are per (campaign, lead) as before,
    so a resent batch is still applied once by the sink. `occurred_at` is the time the
    outcome was recorded, so a re-emitted outcome is the same event, time included.
    """
    if not outcomes:
        return
    key, value = encode_outcome_events(
        outcomes,
        account_id=account_id,
        campaign_id=campaign_id,
        provider=provider,
        occurred_at=occurred_at,
    )
    headers = types_header(o.type for o in outcomes)
    await producer.send_and_wait(topic, value, key=key, headers=headers)
