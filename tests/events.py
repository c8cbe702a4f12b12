"""`email.events` test data: one valid `EmailEvent` with a deterministic id."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from shared.contracts.events import EmailEvent, EventType


def event(
    account: UUID,
    campaign: UUID,
    lead: UUID,
    kind: EventType,
    at: datetime,
    *,
    email: str = "someone@example.com",
    bounce_type: str | None = None,
    reason: str = "",
    key: str | None = None,
) -> EmailEvent:
    """One event whose id is deterministic from (campaign, lead, kind, key)."""
    event_id = uuid.uuid5(campaign, f"{lead}:{kind}:{key or at.isoformat()}")
    return EmailEvent(
        event_id=event_id,
        account_id=account,
        campaign_id=campaign,
        lead_id=lead,
        email=email,
        type=kind,
        provider="simulator",
        reason=reason,
        bounce_type=bounce_type,
        occurred_at=at,
    )
