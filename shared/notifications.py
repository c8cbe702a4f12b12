"""Postgres notifications (LISTEN/NOTIFY) followed on a connection of their own.

A writer that commits something another process waits for calls `pg_notify(channel,
payload)` in the same transaction, so the notification is delivered when, and only
when, the write commits. The waiting process listens instead of polling Postgres:
it sleeps until a notification (or its own deadline) and then reads what changed.

Notifications are not durable. `Listener` calls `reset` whenever some may have been
missed: when it starts listening, and after a lost connection (it reconnects with a
pause between tries; a connection that stops answering its keep-alive counts as
lost). So a waiter that treats `reset` like a notification of everything (look
again now) misses nothing; a slow fallback poll then only guards against a listener
that cannot connect at all.

`Wakeup` is the common case: any notification on its channels, or a reset, sets an
event the worker sleeps on (`Wakeup.wait`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

import asyncpg
import structlog

from shared.periodic import stopped_within

log = structlog.get_logger(__name__)

Handler = Callable[[str], None]


class Listener:
    """Calls `handlers[channel](payload)` for every notification on its channels, and
    `reset()` whenever some may have been missed (connect, reconnect)."""

    def __init__(
        self,
        dsn: str,
        handlers: Mapping[str, Handler],
        *,
        reset: Callable[[], None],
        application_name: str,
        retry_s: float = 1.0,
        keepalive_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self._reset = reset
        self._name = application_name
        self._retry_s = retry_s
        self._keepalive_s = keepalive_s
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`, reconnecting whenever the connection is lost."""
        while not stop.is_set():
            try:
                await self._listen(stop)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("notifications.connection_lost", listener=self._name, error=repr(exc))
            finally:
                self.listening.clear()
                self._reset()
            await stopped_within(stop, self._retry_s)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(
            self._dsn, timeout=10, server_settings={"application_name": self._name}
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            for channel in self._handlers:
                await conn.add_listener(channel, self._notified)
            self._reset()  # whatever happened before LISTEN took effect
            self.listening.set()
            log.info("notifications.listening", listener=self._name, channels=list(self._handlers))
            while not stop.is_set() and not lost.is_set():
                if not await _first_of(stop, lost, self._keepalive_s):
                    await conn.fetchval("SELECT 1", timeout=self._keepalive_s)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    def _notified(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self._handlers[channel](payload)


class Wakeup:
    """An event set by every notification on `channels` and by every reset; a worker
    sleeps on it (`wait`) between passes instead of polling."""

    def __init__(self, dsn: str, channels: list[str], *, application_name: str) -> None:
        self.event = asyncio.Event()
        self.listener = Listener(
            dsn,
            {channel: lambda _payload: self.event.set() for channel in channels},
            reset=self.event.set,
            application_name=application_name,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """The listener (a `shared.service.Worker`)."""
        await self.listener.run(stop)

    @contextlib.asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[Wakeup]:
        """The listener running beside the block (for a worker that owns its wake-up)."""
        task = asyncio.create_task(self.run(stop))
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait(self, stop: asyncio.Event, timeout: float) -> None:
        """Until a notification, a reset, `stop`, or `timeout` seconds (then clear it)."""
        await _first_of(stop, self.event, timeout)
        self.event.clear()


async def _first_of(first: asyncio.Event, second: asyncio.Event, timeout: float) -> bool:
    """Wait until either event is set (True) or `timeout` passed (False)."""
    waits = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
    return bool(done)
