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

import asyncio
import contextlib
from collections.abc import Callable
from uuid import UUID

import asyncpg
import structlog

log = structlog.get_logger(__name__)

CHANNEL = "fanout_campaign_state"
APPLICATION_NAME = "fanout-campaign-changes"  # how the listener shows in pg_stat_activity
ANNOUNCE = "SELECT pg_notify($1, $2)"


async def announce(conn: asyncpg.Connection, campaign_id: UUID) -> None:
    """Announce a change of `campaign_id` (delivered when the caller's transaction commits)."""
    await conn.execute(ANNOUNCE, CHANNEL, str(campaign_id))


class ChangeListener:
    """Calls `changed(campaign_id)` for every announced move, `reset()` when some may be missed."""

    def __init__(
        self,
        dsn: str,
        *,
        changed: Callable[[UUID], None],
        reset: Callable[[], None],
        retry_s: float = 1.0,
        keepalive_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._changed = changed
        self._reset = reset
        self._retry_s = retry_s
        self._keepalive_s = keepalive_s
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`, reconnecting whenever the connection is lost."""
        while not stop.is_set():
            try:
                await self._listen(stop)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("campaign_changes.connection_lost", error=repr(exc))
            finally:
                self.listening.clear()
                self._reset()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._retry_s)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self._reset()  # whatever changed before LISTEN took effect
            self.listening.set()
            log.info("campaign_changes.listening", channel=CHANNEL)
            while not stop.is_set() and not lost.is_set():
                if not await _first_of(stop, lost, self._keepalive_s):
                    await conn.fetchval("SELECT 1", timeout=self._keepalive_s)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            campaign_id = UUID(payload)
        except ValueError:
            log.warning("campaign_changes.bad_payload", payload=payload[:100])
            self._reset()
            return
        self._changed(campaign_id)


async def _first_of(stop: asyncio.Event, lost: asyncio.Event, timeout: float) -> bool:
    """Wait until either event is set (True) or `timeout` passed (False)."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    return bool(done)
