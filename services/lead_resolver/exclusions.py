"""Which matched leads are left out of a send, and why; their `excluded` events.

A lead the campaign's condition matched is sent to unless, in this order:

- it unsubscribed (`leads.unsubscribed_at`), as recorded by the time of the launch;
- its address was on the account's suppression list by the time of the launch;
- its stored address is one the API would refuse today (rows written around the API,
  older imports): `shared.emails.is_valid_email`, a syntax check without DNS;
- an earlier lead of the same slice of 50 matched leads has the same address
  (case-insensitively), so one mailbox does not get the campaign twice from one batch.

Suppressions and unsubscribes are read as of the launch, so a page read again after a
crash leaves out exactly the same leads; later ones are caught by the sender at send
time (outcome `suppressed`). Each excluded lead gets one `excluded` event whose id is the
lead's outcome id for the campaign (`outcome_event_id`), so a page emitted twice is
counted once in the reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.contracts.events import (
    EmailEvent,
    EventBatch,
    EventType,
    ExclusionReason,
    outcome_event_id,
)
from shared.contracts.sends import MAX_BATCH
from shared.emails import is_valid_email


@dataclass(frozen=True)
class Excluded:
    """A matched lead left out of the send, with the reason."""

    lead_id: UUID
    email: str
    reason: ExclusionReason


def exclusion(row: Mapping[str, Any], seen: set[str]) -> ExclusionReason | None:
    """Why `row` is left out, or None to send to it (its address is then added to `seen`)."""
    if row["unsubscribed"]:
        return ExclusionReason.UNSUBSCRIBED
    if row["suppressed"]:
        return ExclusionReason.SUPPRESSED
    email: str = row["email"]
    if not is_valid_email(email):
        return ExclusionReason.INVALID_EMAIL
    address = email.lower()
    if address in seen:
        return ExclusionReason.DUPLICATE
    seen.add(address)
    return None


def excluded_events(
    excluded: Sequence[Excluded], *, campaign_id: UUID, account_id: UUID, at: datetime
) -> list[EventBatch]:
    """The `email.events` values of `excluded`: at most 50 events each."""
    events = [
        EmailEvent(
            event_id=outcome_event_id(campaign_id, item.lead_id),
            account_id=account_id,
            campaign_id=campaign_id,
            lead_id=item.lead_id,
            email=item.email,
            type=EventType.EXCLUDED,
            provider="",
            reason=item.reason.value,
            occurred_at=at,
        )
        for item in excluded
    ]
    return [EventBatch(events=events[i : i + MAX_BATCH]) for i in range(0, len(events), MAX_BATCH)]
