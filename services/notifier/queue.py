"""Who wants an event, and the queue of deliveries the dispatcher works through.

A delivery is created `pending` and due at once. An endpoint gets an event only if it
is enabled, subscribed to its type, and existed when the event happened (an endpoint
registered today is not sent last week's events when the notifier catches up).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from shared import metrics
from shared.outbound.queue import announce_deliveries


@dataclass(frozen=True)
class Subscriber:
    """An enabled endpoint and what it wants."""

    endpoint_id: UUID
    event_types: frozenset[str]
    created_at: datetime

    def wants(self, event_type: str, occurred_at: datetime) -> bool:
        """True for an event of a subscribed type that happened since it was registered."""
        return event_type in self.event_types and occurred_at >= self.created_at


@dataclass(frozen=True)
class NewDelivery:
    """One webhook message to send to one endpoint."""

    id: UUID
    endpoint_id: UUID
    account_id: UUID
    event_type: str
    events: int
    body: str


async def subscribers(
    conn: asyncpg.Connection, accounts: Collection[UUID]
) -> dict[UUID, list[Subscriber]]:
    """The enabled endpoints of each of `accounts`."""
    if not accounts:
        return {}
    rows = await conn.fetch(
        "SELECT id, account_id, event_types, created_at FROM webhook_endpoints "
        "WHERE account_id = ANY($1::uuid[]) AND status = 'enabled'",
        list(accounts),
    )
    found: dict[UUID, list[Subscriber]] = defaultdict(list)
    for row in rows:
        found[row["account_id"]].append(
            Subscriber(row["id"], frozenset(row["event_types"]), row["created_at"])
        )
    return found


async def enqueue(conn: asyncpg.Connection, deliveries: Sequence[NewDelivery], source: str) -> None:
    """Queue `deliveries` in the caller's transaction (a delivery already queued is kept)."""
    if not deliveries:
        return
    await conn.execute(
        """
        INSERT INTO webhook_deliveries
            (id, endpoint_id, account_id, event_type, events, body, next_attempt_at)
        SELECT i, e, a, t, n, b, now()
        FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::text[])
            AS x(i, e, a, t, n, b)
        ON CONFLICT (id) DO NOTHING
        """,
        [d.id for d in deliveries],
        [d.endpoint_id for d in deliveries],
        [d.account_id for d in deliveries],
        [d.event_type for d in deliveries],
        [d.events for d in deliveries],
        [d.body for d in deliveries],
    )
    await announce_deliveries(conn)  # the dispatchers wake when the caller commits
    metrics.WEBHOOK_DELIVERIES_QUEUED.labels(source).inc(len(deliveries))
