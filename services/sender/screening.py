"""Screening a batch just before sending: recipients suppressed or unsubscribed since resolving.

The lead resolver leaves suppressed and unsubscribed leads out; this catches the
ones that became so while their batch waited. Recipients of an ESP call that may
have been in flight when an earlier attempt died (`keep`) are never screened out:
a suppression that arrived since may well have been caused by that very email (a
bounce or complaint of this campaign), so they are sent again, with the same
Message-ID, and end as the provider answers (`sent` where it had accepted them).
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

import asyncpg

from services.sender.outcomes import Outcome
from shared.contracts import EventType, Recipient

SUPPRESSED = """
SELECT email FROM suppressions WHERE account_id = $1 AND email = ANY($2::text[])
UNION
SELECT email FROM leads WHERE id = ANY($3::uuid[]) AND unsubscribed_at IS NOT NULL
"""
REASON = "suppressed since the campaign was resolved"


async def screen(
    pool: asyncpg.Pool, account_id: UUID, recipients: list[Recipient], keep: Collection[UUID]
) -> tuple[list[Outcome], list[Recipient]]:
    """`suppressed` outcomes for the blocked recipients, and the recipients to send to."""
    candidates = [r for r in recipients if r.lead_id not in keep]
    if not candidates:
        return [], recipients
    emails = sorted({r.email for r in candidates} | {r.email.lower() for r in candidates})
    leads = [r.lead_id for r in candidates]
    rows = await pool.fetch(SUPPRESSED, account_id, emails, leads)
    blocked = {row["email"].lower() for row in rows}
    outcomes = [
        Outcome(r, EventType.SUPPRESSED, reason=REASON)
        for r in candidates
        if r.email.lower() in blocked
    ]
    blocked_leads = {o.recipient.lead_id for o in outcomes}
    return outcomes, [r for r in recipients if r.lead_id not in blocked_leads]
