"""Screening a batch just before sending: recipients suppressed or unsubscribed since resolving.

The lead resolver leaves suppressed and unsubscribed leads out; this catches the
ones that became so while their batch waited. Recipients of an ESP call that may
have been in flight when an earlier attempt died (`keep`) are never screened out:
a suppression that arrived since may well have been caused by that very email (a
bounce or complaint of this campaign), so they are sent again, with the same
Message-ID, and end as the provider answers (`sent` where it had accepted them).

What blocks a batch's recipients is read with the batch's ledger look-up, in the same
statement (`ledger.find`: one statement per batch instead of two); an attempt after a
resume reads it again (`blocked`). Suppressions are stored normalised (lower case, as
every writer stores them), so one probe per address; unsubscribed leads are found by
id in a partial index of the leads that unsubscribed (`leads_unsubscribed`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.sender.outcomes import Outcome
from shared.contracts import EventType, Recipient

# The two parts of a screening, as array columns of the statement that holds them:
# $n is the account, $n+1 the recipients' lower-cased emails, $n+2 their lead ids.
BLOCKED_COLUMNS = """
ARRAY(SELECT s.email FROM suppressions s
      WHERE s.account_id = ${account} AND s.email = ANY(${emails}::text[])) AS blocked_emails,
ARRAY(SELECT l.id FROM leads l
      WHERE l.id = ANY(${leads}::uuid[]) AND l.unsubscribed_at IS NOT NULL) AS blocked_leads
"""
BLOCKED = "SELECT " + BLOCKED_COLUMNS.format(account=1, emails=2, leads=3)
REASON = "suppressed since the campaign was resolved"


@dataclass(frozen=True)
class Blocked:
    """The addresses suppressed and the leads unsubscribed among a batch's recipients."""

    emails: frozenset[str] = frozenset()  # lower case
    leads: frozenset[UUID] = frozenset()

    @classmethod
    def of_row(cls, row: asyncpg.Record) -> Blocked:
        """From the two array columns of `BLOCKED_COLUMNS`."""
        return cls(frozenset(row["blocked_emails"] or ()), frozenset(row["blocked_leads"] or ()))


def blocked_params(recipients: list[Recipient]) -> tuple[list[str], list[UUID]]:
    """The recipients' lower-cased addresses and lead ids, as `BLOCKED_COLUMNS` takes them."""
    return sorted({r.email.lower() for r in recipients}), [r.lead_id for r in recipients]


async def blocked(pool: asyncpg.Pool, account_id: UUID, recipients: list[Recipient]) -> Blocked:
    """What blocks `recipients` now (one statement)."""
    if not recipients:
        return Blocked()
    row = await pool.fetchrow(BLOCKED, account_id, *blocked_params(recipients))
    assert row is not None
    return Blocked.of_row(row)


def screen(
    found: Blocked, recipients: list[Recipient], keep: Collection[UUID]
) -> tuple[list[Outcome], list[Recipient]]:
    """`suppressed` outcomes for the blocked recipients, and the recipients to send to."""
    outcomes = [
        Outcome(r, EventType.SUPPRESSED, reason=REASON)
        for r in recipients
        if r.lead_id not in keep and (r.email.lower() in found.emails or r.lead_id in found.leads)
    ]
    blocked_leads = {o.recipient.lead_id for o in outcomes}
    return outcomes, [r for r in recipients if r.lead_id not in blocked_leads]
