"""What events change in Postgres: suppressions, soft-bounce runs, unsubscribed leads.

Hard bounces, complaints and unsubscribes suppress the address for its
account at once. Soft bounces count up per address and suppress once
`threshold` arrive in a row; a delivery resets the run. Every statement is a
bulk `unnest` over the request's events, idempotent under the provider's
retries: suppressions are `ON CONFLICT DO NOTHING`, a soft-bounce run is not
advanced again by the event it last recorded, leads keep their first
unsubscribe time. Rows of unknown accounts are skipped (no foreign-key error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from shared.contracts.events import EmailEvent, EventType

LINK_PROVIDER = "fanout"  # provider of events from Fanout's own unsubscribe link
REASONS = {EventType.COMPLAINED: "complaint", EventType.UNSUBSCRIBED: "unsubscribe"}

INSERT_SUPPRESSIONS = """
INSERT INTO suppressions (account_id, email, reason, source)
SELECT s.account_id, s.email, s.reason, s.source
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS s(account_id, email, reason, source)
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id)
ON CONFLICT (account_id, email) DO NOTHING
"""
RESET_RUNS = """
UPDATE soft_bounces sb SET consecutive = 0, last_event_id = u.event_id, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS u(account_id, email, event_id)
WHERE sb.account_id = u.account_id AND sb.email = u.email AND sb.consecutive <> 0
"""
# after a delivery in the same request the run restarts: its length is absolute
RESTART_RUNS = """
INSERT INTO soft_bounces AS sb (account_id, email, consecutive, last_event_id)
SELECT u.account_id, u.email, u.n, u.event_id
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::uuid[]) AS u(account_id, email, n, event_id)
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = u.account_id)
ON CONFLICT (account_id, email) DO UPDATE
SET consecutive = EXCLUDED.consecutive, last_event_id = EXCLUDED.last_event_id, updated_at = now()
"""
EXTEND_RUNS = """
INSERT INTO soft_bounces AS sb (account_id, email, consecutive, last_event_id)
SELECT u.account_id, u.email, u.n, u.event_id
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::uuid[]) AS u(account_id, email, n, event_id)
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.id = u.account_id)
ON CONFLICT (account_id, email) DO UPDATE
SET consecutive = sb.consecutive + EXCLUDED.consecutive,
    last_event_id = EXCLUDED.last_event_id, updated_at = now()
WHERE sb.last_event_id IS DISTINCT FROM EXCLUDED.last_event_id
"""
SUPPRESS_LONG_RUNS = """
INSERT INTO suppressions (account_id, email, reason, source)
SELECT sb.account_id, sb.email, 'soft_bounce', u.source
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(account_id, email, source)
JOIN soft_bounces sb ON sb.account_id = u.account_id AND sb.email = u.email
WHERE sb.consecutive >= $4
ON CONFLICT (account_id, email) DO NOTHING
"""
MARK_UNSUBSCRIBED = """
UPDATE leads SET unsubscribed_at = u.at, updated_at = now()
FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS u(account_id, lead_id, at)
WHERE leads.id = u.lead_id AND leads.account_id = u.account_id AND leads.unsubscribed_at IS NULL
"""

Address = tuple[UUID, str]


@dataclass
class _Run:
    """One address's soft-bounce events in this request, in time order."""

    source: str
    restarted: bool = False
    bounces: int = 0
    last_event_id: UUID | None = None


@dataclass
class Changes:
    """The Postgres changes of one request's events, collapsed per address."""

    suppress: dict[Address, tuple[str, str]] = field(default_factory=dict)
    runs: dict[Address, _Run] = field(default_factory=dict)
    unsubscribed: dict[tuple[UUID, UUID], datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[EmailEvent]) -> Changes:
        changes = cls()
        for event in sorted(events, key=lambda e: e.occurred_at):
            changes._add(event)
        return changes

    def _add(self, event: EmailEvent) -> None:
        address = (event.account_id, event.email)
        source = (
            "unsubscribe_link" if event.provider == LINK_PROVIDER else f"webhook:{event.provider}"
        )
        if event.type == EventType.BOUNCED and event.bounce_type == "hard":
            self.suppress.setdefault(address, ("hard_bounce", source))
        elif event.type in REASONS:
            self.suppress.setdefault(address, (REASONS[event.type], source))
        if event.type == EventType.UNSUBSCRIBED:
            self.unsubscribed.setdefault((event.account_id, event.lead_id), event.occurred_at)
        if event.type == EventType.BOUNCED and event.bounce_type == "soft":
            run = self.runs.setdefault(address, _Run(source))
            run.bounces += 1
            run.last_event_id = event.event_id
        elif event.type == EventType.DELIVERED:
            self.runs[address] = _Run(source, restarted=True, last_event_id=event.event_id)


async def apply(conn: asyncpg.Connection, changes: Changes, threshold: int) -> None:
    """Write `changes` with bulk statements (the caller holds the transaction)."""
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
    runs = sorted(changes.runs.items(), key=lambda item: item[0])
    resets = [(a, r) for a, r in runs if r.restarted and not r.bounces]
    restarts = [(a, r) for a, r in runs if r.restarted and r.bounces]
    extends = [(a, r) for a, r in runs if not r.restarted]
    if resets:
        await conn.execute(RESET_RUNS, *_columns(resets, with_count=False))
    for statement, runs in ((RESTART_RUNS, restarts), (EXTEND_RUNS, extends)):
        if runs:
            await conn.execute(statement, *_columns(runs, with_count=True))
    bounced = restarts + extends
    if bounced:
        await conn.execute(
            SUPPRESS_LONG_RUNS,
            [a[0] for a, _ in bounced],
            [a[1] for a, _ in bounced],
            [r.source for _, r in bounced],
            threshold,
        )
    if changes.unsubscribed:
        leads = sorted(changes.unsubscribed)
        await conn.execute(
            MARK_UNSUBSCRIBED,
            [k[0] for k in leads],
            [k[1] for k in leads],
            [changes.unsubscribed[k] for k in leads],
        )


def _columns(runs: list[tuple[Address, _Run]], *, with_count: bool) -> list[list[object]]:
    columns: list[list[object]] = [[a[0] for a, _ in runs], [a[1] for a, _ in runs]]
    if with_count:
        columns.append([r.bounces for _, r in runs])
    columns.append([r.last_event_id for _, r in runs])
    return columns
