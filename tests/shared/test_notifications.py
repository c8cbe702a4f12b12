"""Wake-ups instead of polling: a notification, or a lost listening connection, wakes the
waiter at once; without either it sleeps its whole timeout."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from shared.notifications import Wakeup

pytestmark = pytest.mark.postgres


async def test_wakeup_wakes_on_notify_and_on_a_lost_connection(
    pool: asyncpg.Pool, pg_dsn: str
) -> None:
    channel, name = f"test_{uuid4().hex[:12]}", f"test-wakeup-{uuid4().hex[:8]}"
    wakeup = Wakeup(pg_dsn, [channel], application_name=name)
    stop = asyncio.Event()
    async with wakeup.running(stop):
        await asyncio.wait_for(wakeup.listener.listening.wait(), timeout=10)
        await wakeup.wait(stop, 0)  # the connect's reset: anything before LISTEN counts
        assert not wakeup.event.is_set()
        await pool.execute("SELECT pg_notify($1, 'x')", channel)
        await asyncio.wait_for(wakeup.wait(stop, 3600), timeout=10)  # woken, long before
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            name,
        )
        assert killed == 1
        await asyncio.wait_for(wakeup.wait(stop, 3600), timeout=10)  # notices may be lost
        stop.set()
