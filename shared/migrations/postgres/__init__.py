"""Postgres schema migrations (alembic), applied by `fanout stack up` and `fanout db upgrade`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


def alembic_config(dsn: str) -> Config:
    """An alembic config pointing at this folder and `dsn` (asyncpg form accepted)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", to_sqlalchemy_url(dsn).replace("%", "%%"))
    return config


def to_sqlalchemy_url(dsn: str) -> str:
    """`postgresql://...` → `postgresql+asyncpg://...` for SQLAlchemy."""
    for prefix in ("postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    return dsn


def upgrade(dsn: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; call from a thread inside a loop)."""
    command.upgrade(alembic_config(dsn), revision)


async def upgrade_async(dsn: str, revision: str = "head") -> None:
    """`upgrade` run off the event loop (alembic's env.py runs its own loop)."""
    await asyncio.to_thread(upgrade, dsn, revision)
