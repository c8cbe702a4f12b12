"""The lead fields a recipient lacks for its campaign's template, read when it is sent.

The resolver puts in a recipient's merge variables `email` and only the lead fields the
campaign's template reads (`shared.templating.usage.fields_read`): a template naming
`first_name` and `country` gets neither the lead's tags nor its attributes, which the
page does not read, the batch does not carry and nobody parses. A template edited after
its leads were resolved (a campaign paused, its template fixed, resumed) may read a
field the batches already on `email.sends` (or parked) lack: before rendering, the
sender reads the lacking fields of those recipients from their leads, one statement per
batch, in the campaign's account only. A recipient whose lead is gone keeps what it has
and fails to render with the missing variable named, as any lead lacking a value does.
What a recipient carries wins over what is read now: both are the lead's, the carried
value as the resolver saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from shared import metrics
from shared.contracts.fast_sends import FastRecipient
from shared.templating import lead_merge_vars

# one primary-key probe per lead (`LIMIT 1` in a lateral keeps each a nested loop)
LEAD_FIELDS = """
SELECT l.id, l.first_name, l.last_name, l.country, l.tags, l.attributes::text AS attributes
FROM unnest($2::uuid[]) AS u(id)
CROSS JOIN LATERAL (
    SELECT l.id, l.first_name, l.last_name, l.country, l.tags, l.attributes FROM leads l
    WHERE l.id = u.id AND l.account_id = $1 LIMIT 1
) l
"""


def lacking(reads: frozenset[str], recipients: Sequence[FastRecipient]) -> list[FastRecipient]:
    """The recipients whose merge variables lack a field of `reads`."""
    if not reads:
        return []
    return [r for r in recipients if not r.merge_vars.keys() >= reads]


async def complete(
    db: asyncpg.Pool | asyncpg.Connection,
    account_id: UUID,
    reads: frozenset[str],
    recipients: list[FastRecipient],
) -> list[FastRecipient]:
    """`recipients`, those lacking a field of `reads` given it from their leads (of
    `account_id`); the same list when none lacks one."""
    short = lacking(reads, recipients)
    if not short:
        return recipients
    rows = await db.fetch(LEAD_FIELDS, account_id, [r.lead_id for r in short])
    leads = {row["id"]: row for row in rows}
    completed: list[FastRecipient] = []
    for recipient in recipients:
        row = leads.get(recipient.lead_id)
        if row is None or recipient.merge_vars.keys() >= reads:
            completed.append(recipient)
            continue
        read = lead_merge_vars({**dict(row), "email": recipient.email}, reads)
        merge_vars = {**read, **recipient.merge_vars}
        completed.append(msgspec.structs.replace(recipient, merge_vars=merge_vars))
    metrics.MERGE_FIELDS_READ.inc(len(rows))
    return completed
