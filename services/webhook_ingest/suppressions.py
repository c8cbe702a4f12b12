"""What events change in Postgres: suppressions, soft-bounce runs, unsubscribed leads.

Hard bounces, complaints and unsubscribes suppress the address for its
account at once. Soft bounces count up per address and suppress once
`threshold` arrive in a row; a delivery ends the run (`soft_bounces.py`).
Every statement is a bulk `unnest` over the request's events, idempotent under
the provider's retries: suppressions are `ON CONFLICT DO NOTHING`, a soft
bounce counts once per event id, leads keep their first unsubscribe time.
Rows of unknown accounts are skipped (no foreign-key error).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

import asyncpg

from services.webhook_ingest.known_runs import KnownRuns
from services.webhook_ingest.soft_bounces import Address, Run, apply_runs, runs_to_apply
from shared.contracts.events import EventType
from shared.contracts.fast_events import EventFields

LINK_PROVIDER = "fanout"  # provider of events from Fanout's own unsubscribe link
REASONS = {EventType.COMPLAINED: "complaint", EventType.UNSUBSCRIBED: "unsubscribe"}
# the event types that change anything here
CHANGING = frozenset({EventType.BOUNCED, EventType.DELIVERED, *REASONS})

INSERT_SUPPRESSIONS = """
INSERT INTO suppressions (account_id, email, reason, source)
SELECT s.account_id, s.email, s.reason, s.source
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS s(account_id, email, reason, source)
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id)
ON CONFLICT (account_id, email) DO NOTHING
"""
MARK_UNSUBSCRIBED = """
UPDATE leads SET unsubscribed_at = u.at, updated_at = now()
FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u(account_id, lead_id, at)
WHERE leads.id = u.lead_id AND leads.account_id = u.account_id AND leads.unsubscribed_at IS NULL
"""


@dataclass
class Changes:
    """The Postgres changes of one request's events, collapsed per address."""

    suppress: dict[Address, tuple[str, str]] = field(default_factory=dict)
    runs: dict[Address, Run] = field(default_factory=dict)
    unsubscribed: dict[tuple[UUID, UUID], datetime] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing to write: opens and clicks, or deliveries that end no run."""
        return not (self.suppress or self.runs or self.unsubscribed)

    @classmethod
    def of(cls, events: Sequence[EventFields]) -> Changes:
        changes = cls()
        for event in events:
            changes._add(event)
        return changes

    def _add(self, event: EventFields) -> None:
        kind = event.type
        if kind not in CHANGING:  # opens and clicks (most events but deliveries) change nothing
            return
        address = (event.account_id, event.email)
        source = (
            "unsubscribe_link" if event.provider == LINK_PROVIDER else f"webhook:{event.provider}"
        )
        if kind == EventType.BOUNCED and event.bounce_type == "hard":
            self.suppress.setdefault(address, ("hard_bounce", source))
        elif kind in REASONS:
            self.suppress.setdefault(address, (REASONS[kind], source))
        if kind == EventType.UNSUBSCRIBED:
            self.unsubscribed.setdefault((event.account_id, event.lead_id), event.occurred_at)
        if kind == EventType.BOUNCED and event.bounce_type == "soft":
            self.runs.setdefault(address, Run(source)).bounce(event.event_id, event.occurred_at)
        elif kind == EventType.DELIVERED:
            self.runs.setdefault(address, Run(source)).delivered(event.occurred_at)


async def to_write(conn: asyncpg.Connection, changes: Changes, known: KnownRuns | None) -> Changes:
    """`changes` less the deliveries of addresses `known` says have no soft-bounce run: a
    read, made before the request's transaction, so a request that changes nothing (almost
    every delivery) opens none (`soft_bounces.runs_to_apply`)."""
    runs = await runs_to_apply(conn, changes.runs, known)
    return changes if runs is changes.runs else replace(changes, runs=runs)


async def apply(
    conn: asyncpg.Connection, changes: Changes, threshold: int, known: KnownRuns | None = None
) -> None:
    """Write `changes` with bulk statements (the caller holds the transaction); `known`
    spares the look-up of delivered addresses without a soft-bounce run."""
    # rows in key order: concurrent requests then lock shared rows in the same order
    if changes.suppress:
        keys = sorted(changes.suppress)
        values = [changes.suppress[k] for k in keys]
        await conn.execute(
            INSERT_SUPPRESSIONS,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [v[0] for v in values],
            [v[1] for v in values],
        )
    await apply_runs(conn, changes.runs, threshold, known)
    if changes.unsubscribed:
        leads = sorted(changes.unsubscribed)
        await conn.execute(
            MARK_UNSUBSCRIBED,
            [k[0] for k in leads],
            [k[1] for k in leads],
            [changes.unsubscribed[k] for k in leads],
        )
