"""Migration 0003_soft_bounce_events carries existing soft-bounce runs over, and reverts."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from alembic import command

from shared.migrations.postgres import alembic_config, upgrade_async

pytestmark = [pytest.mark.postgres]


async def test_upgrade_carries_soft_bounce_runs_over(empty_dsn: str) -> None:
    await upgrade_async(empty_dsn, "0002")
    last = uuid.uuid4()
    conn = await asyncpg.connect(empty_dsn)
    try:
        account = await conn.fetchval("INSERT INTO accounts (name) VALUES ('a') RETURNING id")
        await conn.execute(
            "INSERT INTO soft_bounces (account_id, email, consecutive, last_event_id)"
            " VALUES ($1, 'a@example.com', 2, $2), ($1, 'b@example.com', 0, NULL)",
            account,
            last,
        )
        await upgrade_async(empty_dsn, "0003_soft_bounce_events")
        rows = await conn.fetch("SELECT email, event_id FROM soft_bounce_events")
        assert sorted(r["email"] for r in rows) == ["a@example.com", "a@example.com"]
        assert last in {r["event_id"] for r in rows}
        await asyncio.to_thread(command.downgrade, alembic_config(empty_dsn), "0002")
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'soft_bounces'"
        )
        assert "last_event_id" in {c["column_name"] for c in columns}
        assert await conn.fetchval("SELECT to_regclass('soft_bounce_events')") is None
    finally:
        await conn.close()
