"""Campaign state changes announced on a Postgres channel, and the listener that follows them.

Every move this package writes also calls `pg_notify(CHANNEL, '<campaign id>')` in
the same statement or transaction, so Postgres delivers the notification when, and
only when, the move commits. A worker that caches campaign state (the sender checks
it before every ESP call) listens on a dedicated connection and drops its cached
view of that campaign at once: a pause acknowledged by the API is seen within
milliseconds, not at the next cache expiry.

Notifications are not durable. `ChangeListener` reports `reset` whenever some may
have been missed: when it starts listening, and after a lost connection (it
reconnects with a pause between tries; a connection that stops answering its
keep-alive counts as lost). Callers keep a short cache expiry as the fallback for
the time they are not listening.

The durable record is the change log: every move's statement also appends a row to
`campaign_changes` (campaign, account, action, new state, reason, run, time), which
commits exactly when the move does. Whoever must see every move (the notifier, which
tells customers' webhook endpoints) reads that table and marks the rows it handled;
the notification only wakes it sooner.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg
import structlog

from shared.notifications import Listener

log = structlog.get_logger(__name__)

CHANNEL = "fanout_campaign_state"
# The sender's counting flush announces the campaigns it counted outcomes of: the lead
# resolver, waiting for room under its window, looks again then instead of polling.
PROGRESS_CHANNEL = "fanout_campaign_progress"
APPLICATION_NAME = "fanout-campaign-changes"  # how the listener shows in pg_stat_activity
ANNOUNCE = "SELECT pg_notify($1, $2)"


async def announce(conn: asyncpg.Connection, campaign_id: UUID) -> None:
    """Announce a change of `campaign_id` (delivered when the caller's transaction commits)."""
    await conn.execute(ANNOUNCE, CHANNEL, str(campaign_id))


class ChangeListener(Listener):
    """Calls `changed(campaign_id)` for every announced move, `reset()` when some may be missed
    (`shared.notifications.Listener`: on every connect and reconnect)."""

    def __init__(
        self,
        dsn: str,
        *,
        changed: Callable[[UUID], None],
        reset: Callable[[], None],
        retry_s: float = 1.0,
        keepalive_s: float = 10.0,
    ) -> None:
        super().__init__(
            dsn,
            {CHANNEL: self._announced},
            reset=reset,
            application_name=APPLICATION_NAME,
            retry_s=retry_s,
            keepalive_s=keepalive_s,
        )
        self._changed = changed

    def _announced(self, payload: str) -> None:
        try:
            campaign_id = UUID(payload)
        except ValueError:
            log.warning("campaign_changes.bad_payload", payload=payload[:100])
            self._reset()
            return
        self._changed(campaign_id)
