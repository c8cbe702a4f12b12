"""Campaign moves are announced when they commit; the listener follows them across reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest

from shared.campaigns import Action, ChangeListener, State, complete_if_accounted, move, move_locked
from shared.campaigns.changes import ANNOUNCE, APPLICATION_NAME, CHANNEL
from tests.shared.campaigns.helpers import campaign_in

pytestmark = pytest.mark.postgres

NOW = datetime(2030, 1, 2, tzinfo=UTC)


class Seen:
    """What the listener reported."""

    def __init__(self) -> None:
        self.changed: asyncio.Queue[UUID] = asyncio.Queue()
        self.resets = 0
        self.reset_event = asyncio.Event()

    def change(self, campaign_id: UUID) -> None:
        self.changed.put_nowait(campaign_id)

    def reset(self) -> None:
        self.resets += 1
        self.reset_event.set()

    async def next_change(self) -> UUID:
        return await asyncio.wait_for(self.changed.get(), timeout=10)


@asynccontextmanager
async def listening(pg_dsn: str) -> AsyncIterator[tuple[ChangeListener, Seen]]:
    seen = Seen()
    listener = ChangeListener(pg_dsn, changed=seen.change, reset=seen.reset, retry_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        await asyncio.wait_for(listener.listening.wait(), timeout=10)
        yield listener, seen
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def test_announce_worker_and_api_moves_when_they_commit(
    pool: asyncpg.Pool, pg_dsn: str
) -> None:
    sending, run_id = await campaign_in(pool, State.SENDING)
    queued, _ = await campaign_in(pool, State.QUEUED)
    async with listening(pg_dsn) as (_, seen):
        assert seen.resets == 1  # on start: whatever changed before LISTEN took effect
        assert await move(pool, sending, Action.PAUSE, run_id=run_id, reason="x")
        assert await seen.next_change() == sending
        assert await move(pool, sending, Action.PAUSE) is None  # not applied: not announced
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", queued)
                await move_locked(
                    conn,
                    queued,
                    State.QUEUED,
                    Action.CANCEL,
                    run_id=None,
                    launched_at=None,
                    now=NOW,
                )
                # a change committed meanwhile elsewhere arrives first: the move's waits
                marker = uuid4()
                await pool.execute(ANNOUNCE, CHANNEL, str(marker))
                assert await seen.next_change() == marker
            assert await seen.next_change() == queued
        assert seen.changed.empty()


async def test_announce_completion(pool: asyncpg.Pool, pg_dsn: str) -> None:
    campaign_id, _ = await campaign_in(pool, State.SENDING)
    await pool.execute(
        "UPDATE campaigns SET matched = 0, resolve_done = true WHERE id = $1", campaign_id
    )
    async with listening(pg_dsn) as (_, seen):
        assert await complete_if_accounted(pool, [campaign_id]) == [campaign_id]
        assert await seen.next_change() == campaign_id


async def test_listener_reconnects_and_resets_after_losing_its_connection(
    pool: asyncpg.Pool, pg_dsn: str
) -> None:
    campaign_id, run_id = await campaign_in(pool, State.SENDING)
    async with listening(pg_dsn) as (listener, seen):
        seen.reset_event.clear()
        killed = await pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        assert killed == 1
        await asyncio.wait_for(seen.reset_event.wait(), timeout=10)
        await asyncio.wait_for(listener.listening.wait(), timeout=10)
        assert await move(pool, campaign_id, Action.PAUSE, run_id=run_id)
        assert await seen.next_change() == campaign_id
        assert seen.resets >= 3  # on start, on the loss, on listening again
