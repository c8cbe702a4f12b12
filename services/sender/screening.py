"""Screening a batch just before sending: recipients suppressed or unsubscribed since resolving.

The lead resolver leaves suppressed and unsubscribed leads out; this catches the
ones that became so while their batch waited. Recipients of an ESP call that may
have been in flight when an earlier attempt died (`keep`) are never screened out:
a suppression that arrived since may well have been caused by that very email (a
bounce or complaint of this campaign), so they are sent again, with the same
Message-ID, and end as the provider answers (`sent` where it had accepted them).

What blocks a batch's recipients is read with the batch's ledger look-up, in the same
statement (`ledger.find`; an attempt after a resume looks again). The resolver reads, with
each page, what blocks each lead at that moment (a lead blocked since the launch is sent
to by the page but named in the batch's `blocked_leads`) and the xmin of the page's
snapshot (`resolved_xmin`): every transaction the page may not have seen has an id at or
above it. So the look-up reads only the account's suppressions and unsubscribed leads
written by such transactions (migration 0017: `suppressions.xact`,
`leads.unsubscribed_xact`, each a range of an index), not one probe per recipient. A
batch without a snapshot (re-emitted parked recipients) is looked up by probes:
suppressions are stored normalised (lower case, as every writer stores them), so one
probe per address, and unsubscribed leads by id in a partial index of the leads that
unsubscribed (`leads_unsubscribed`). Either way a recipient is screened out when it is
blocked now; a suppression the resolver saw and that was removed since still screens
the lead out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.sender.outcomes import Outcome
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient

REASON = "suppressed since the campaign was resolved"


@dataclass(frozen=True)
class Blocked:
    """The addresses suppressed and the leads unsubscribed among a batch's recipients."""

    emails: frozenset[str] = frozenset()  # lower case
    leads: frozenset[UUID] = frozenset()

    @classmethod
    def of_row(cls, row: asyncpg.Record) -> Blocked:
        """From the look-up's columns `blocked_emails` and `blocked_leads`."""
        return cls(frozenset(row["blocked_emails"] or ()), frozenset(row["blocked_leads"] or ()))


def screen(
    found: Blocked, recipients: list[FastRecipient], keep: Collection[UUID]
) -> tuple[list[Outcome], list[FastRecipient]]:
    """`suppressed` outcomes for the blocked recipients, and the recipients to send to."""
    if not found.emails and not found.leads:  # nearly every batch: nothing to look up
        return [], list(recipients)
    outcomes = [
        Outcome(r, EventType.SUPPRESSED, reason=REASON)
        for r in recipients
        if r.lead_id not in keep and (r.email.lower() in found.emails or r.lead_id in found.leads)
    ]
    blocked_leads = {o.recipient.lead_id for o in outcomes}
    return outcomes, [r for r in recipients if r.lead_id not in blocked_leads]
