"""`Annotated` dependency aliases of the reports API (its problem answer sets are
`shared.http.answers`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends

from services.report_sink.analyst import AnalystSql
from services.report_sink.config import Settings
from shared.auth import CurrentAccount
from shared.clickhouse import AsyncClickHouse
from shared.http.problems import ProblemError
from shared.http.state import PoolDep, from_state

ReaderDep = Annotated[AsyncClickHouse, Depends(from_state("reader", AsyncClickHouse))]
AnalystDep = Annotated[AnalystSql, Depends(from_state("analyst", AnalystSql))]
SettingsDep = Annotated[Settings, Depends(from_state("settings", Settings))]
AdminTokenDep = Annotated[str, Depends(from_state("admin_token", str))]


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
        raise ProblemError(404, "campaign not found")
    return Campaign(campaign_id, account, row["name"], row["state"], row["matched"])


OwnedCampaign = Annotated[Campaign, Depends(_owned_campaign)]
