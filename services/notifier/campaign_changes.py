"""Campaign moves (the durable change log) → one delivery per interested endpoint.

`shared.campaigns` appends every move to `campaign_changes` in the move's own statement.
One pass here, in one transaction: take the oldest unhandled rows (one drainer at a time,
by an advisory lock, so a campaign's notices are queued in the order of its moves), build
each interesting move's body with the campaign's summary, queue a delivery per endpoint
subscribed to its type, and mark the rows handled. A crash before the commit leaves the
rows unhandled; a delivery's id is derived from (change, endpoint), so none is queued twice.
Internal steps (resolve, send) are marked handled and tell no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg

from services.notifier.payloads import campaign_body
from services.notifier.queue import NewDelivery, Subscriber, enqueue, subscribers
from shared.db import fetch_if_first
from shared.outbound.event_types import campaign_event

DRAIN_LOCK = 0x0F_A0_07_0C  # advisory lock key: "one drainer of campaign_changes at a time"
DELIVERY_NAMESPACE = uuid5(NAMESPACE_URL, "https://fanout.dev/webhooks/changes")
PENDING = """
SELECT id, campaign_id, account_id, action, state, reason, run_id, occurred_at
FROM campaign_changes WHERE notified_at IS NULL ORDER BY id LIMIT $1
"""
CAMPAIGNS = """
SELECT c.id, c.name, c.matched, c.excluded, c.sent, c.failed, c.suppressed, c.cancelled,
       f.delivered, f.bounced, f.complained, f.unsubscribed, f.opened, f.clicked
FROM campaigns c LEFT JOIN campaign_feedback_counts f ON f.campaign_id = c.id
WHERE c.id = ANY($1::uuid[])
"""


def change_deliveries(
    changes: Sequence[asyncpg.Record],
    wanted: Mapping[UUID, Sequence[Subscriber]],
    campaigns: Mapping[UUID, Mapping[str, Any]],
) -> list[NewDelivery]:
    """The deliveries telling `changes` to the endpoints that want them."""
    deliveries: list[NewDelivery] = []
    for change in changes:
        kind = campaign_event(change["action"])
        campaign = campaigns.get(change["campaign_id"])
        if kind is None or campaign is None:
            continue
        feedback = campaign if campaign["delivered"] is not None else None
        for subscriber in wanted.get(change["account_id"], ()):
            if subscriber.wants(kind, change["occurred_at"]):
                body = campaign_body(kind, change, campaign, feedback)
                key = f"{change['id']}:{subscriber.endpoint_id}"
                delivery_id = uuid5(DELIVERY_NAMESPACE, key)
                deliveries.append(
                    NewDelivery(
                        delivery_id, subscriber.endpoint_id, change["account_id"], kind, 1, body
                    )
                )
    return deliveries


async def drain_once(pool: asyncpg.Pool, limit: int = 100) -> int:
    """Handle up to `limit` unhandled changes; how many were handled (0 when another
    instance is draining)."""
    async with pool.acquire() as conn, conn.transaction():
        changes = await fetch_if_first(conn, DRAIN_LOCK, PENDING, limit)
        if not changes:
            return 0
        telling = [c for c in changes if campaign_event(c["action"]) is not None]
        wanted = await subscribers(conn, {c["account_id"] for c in telling})
        ids = list({c["campaign_id"] for c in telling if c["account_id"] in wanted})
        campaigns = {r["id"]: r for r in await conn.fetch(CAMPAIGNS, ids)} if ids else {}
        await enqueue(conn, change_deliveries(telling, wanted, campaigns), "campaign")
        await conn.execute(
            "UPDATE campaign_changes SET notified_at = now() WHERE id = ANY($1::bigint[])",
            [c["id"] for c in changes],
        )
    return len(changes)
