"""The channel that says "deliveries were queued": the notifier's dispatchers sleep on it.

Whoever makes a delivery due (the notifier queueing new ones, campaign_api replaying
old ones or enabling an endpoint again) announces it, in its own transaction when it
has one, so the dispatchers look at once instead of polling (`services/notifier/loops.py`).
"""

from __future__ import annotations

import asyncpg

DELIVERIES_CHANNEL = "fanout_webhook_deliveries"
ANNOUNCE = "SELECT pg_notify($1, '')"


async def announce_deliveries(db: asyncpg.Connection | asyncpg.Pool) -> None:
    """Tell the dispatchers that deliveries are due (delivered when the caller commits)."""
    await db.execute(ANNOUNCE, DELIVERIES_CHANNEL)
