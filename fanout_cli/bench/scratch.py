"""A throw-away PostgreSQL database for a benchmark, beside FANOUT_DATABASE_URL's.

It is created on the same server with every migration applied (so the real indexes)
and dropped afterwards: a benchmark's million rows never land in the stack's database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from shared.db import create_pool, drop_database, postgres_unreachable
from shared.migrations.postgres import upgrade_async


def sibling_dsn(database_url: str, database: str) -> str:
    """`database_url` pointing at another database of the same server."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass(frozen=True)
class ScratchDatabase:
    """The database's name (to find it again when kept) and a small pool on it."""

    name: str
    pool: asyncpg.Pool


@asynccontextmanager
async def scratch_database(
    database_url: str, *, keep: bool = False
) -> AsyncIterator[ScratchDatabase]:
    """A new, migrated database; dropped on exit unless `keep`."""
    name = f"fanout_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(database_url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise postgres_unreachable(database_url, exc) from exc
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            dsn = sibling_dsn(database_url, name)
            await upgrade_async(dsn)
            pool = await create_pool(dsn, max_size=2)
            try:
                yield ScratchDatabase(name, pool)
            finally:
                await pool.close()
        finally:
            if not keep:
                await drop_database(admin, name)
    finally:
        await admin.close()
