"""Webhook bodies: `{"type", "timestamp", "data"}`, as the Standard Webhooks spec recommends.

A body is made once, when its delivery is created, and stored as the exact bytes that
are signed and sent on every attempt (compact JSON, UTC times ending in `Z`).

    campaign.*  data: the campaign, the move (action, state, reason, run) and its summary
                (counters as they stood when the notice was prepared)
    lead.*      data.events: up to `events_per_delivery` events of that one type, each
                with its own `event_id` (stable: a receiver can de-duplicate on it)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from shared.contracts.fast_events import EventFields
from shared.outbound.event_types import WebhookEventType

SEND_COUNTERS = ("matched", "excluded", "sent", "failed", "suppressed", "cancelled")
FEEDBACK_COUNTERS = ("delivered", "bounced", "complained", "unsubscribed", "opened", "clicked")


def envelope(event_type: WebhookEventType, timestamp: datetime, data: Mapping[str, Any]) -> str:
    """The body of one webhook."""
    body = {"type": event_type.value, "timestamp": timestamp, "data": data}
    # default=str: asyncpg's UUIDs are not the stdlib's, which orjson knows
    return orjson.dumps(body, option=orjson.OPT_UTC_Z, default=str).decode()


def summary(campaign: Mapping[str, Any], feedback: Mapping[str, Any] | None) -> dict[str, Any]:
    """The campaign's counters: its send accounting and the provider feedback so far."""
    counts: dict[str, Any] = {name: campaign[name] for name in SEND_COUNTERS}
    for name in FEEDBACK_COUNTERS:
        counts[name] = feedback[name] if feedback is not None else 0
    return counts


def campaign_body(
    event_type: WebhookEventType,
    change: Mapping[str, Any],
    campaign: Mapping[str, Any],
    feedback: Mapping[str, Any] | None,
) -> str:
    """The body telling one logged move of a campaign (`change`: a campaign_changes row)."""
    data = {
        "campaign_id": change["campaign_id"],
        "name": campaign["name"],
        "action": change["action"],
        "state": change["state"],
        "reason": change["reason"],
        "run_id": change["run_id"],
        "sequence": change["id"],
        "occurred_at": change["occurred_at"],
        "summary": summary(campaign, feedback),
    }
    return envelope(event_type, change["occurred_at"], data)


def lead_event(event: EventFields) -> dict[str, Any]:
    """One event as a lead webhook lists it."""
    return {
        "event_id": event.event_id,
        "campaign_id": event.campaign_id,
        "lead_id": event.lead_id,
        "email": event.email,
        "occurred_at": event.occurred_at,
        "reason": event.reason,
        "bounce_type": event.bounce_type,
        "provider": event.provider,
    }


def lead_body(event_type: WebhookEventType, events: Sequence[EventFields]) -> str:
    """The body carrying `events` (all of `event_type`); stamped with the latest one's time."""
    latest = max(event.occurred_at for event in events)
    return envelope(event_type, latest, {"events": [lead_event(e) for e in events]})
