"""`Annotated` dependency aliases of the reports API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import Depends, HTTPException, Request, status

from services.report_sink.config import Settings
from shared.auth import CurrentAccount
from shared.clickhouse import AsyncClickHouse

__all__ = ["CurrentAccount", "OwnedCampaign", "PoolDep", "ReaderDep", "SettingsDep"]


def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def _reader(request: Request) -> AsyncClickHouse:
    reader: AsyncClickHouse = request.app.state.reader
    return reader


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
ReaderDep = Annotated[AsyncClickHouse, Depends(_reader)]
SettingsDep = Annotated[Settings, Depends(_settings)]


@dataclass(frozen=True)
class Campaign:
    """The caller's campaign, as Postgres knows it (campaign state, not per-email data)."""

    id: UUID
    account_id: UUID
    name: str
    state: str
    matched: int | None


async def _owned_campaign(campaign_id: UUID, account: CurrentAccount, pool: PoolDep) -> Campaign:
    row = await pool.fetchrow(
        "SELECT name, state, matched FROM campaigns WHERE id = $1 AND account_id = $2",
        campaign_id,
        account,
    )
    if row is None:  # another account's campaign answers exactly like a missing one
        raise HTTPException(status.HTTP_404_NOT_FOUND, "campaign not found")
    return Campaign(campaign_id, account, row["name"], row["state"], row["matched"])


OwnedCampaign = Annotated[Campaign, Depends(_owned_campaign)]
