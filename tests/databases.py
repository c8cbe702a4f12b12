"""Databases of a test's own on the suite's Postgres: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.db import drop_database
from shared.migrations.postgres import upgrade_async


def with_database(dsn: str, database: str) -> str:
    """`dsn` pointing at `database` instead (query parameters kept)."""
    head, _, tail = dsn.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{database}{query}"


async def _admin(admin_dsn: str, statement: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@asynccontextmanager
async def scratch_database(
    admin_dsn: str, *, migrated: bool = True, prefix: str = "fanout_test"
) -> AsyncIterator[str]:
    """The DSN of a new database (every migration applied when `migrated`), dropped on exit
    even when the block fails."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(admin_dsn, f'CREATE DATABASE "{name}"')
    try:
        dsn = with_database(admin_dsn, name)
        if migrated:
            await upgrade_async(dsn)
        yield dsn
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await drop_database(admin, name)
        finally:
            await admin.close()
