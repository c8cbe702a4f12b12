"""A lead's history across campaigns."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.report_sink import queries
from services.report_sink.api.deps import ReaderDep
from services.report_sink.api.models import LeadHistory
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.problems import ProblemError
from shared.http.state import PoolDep

router = APIRouter(prefix="/reports/leads", tags=["reports"], responses=answers.AUTHENTICATED)


@router.get("/{lead_id}/history", response_model=LeadHistory, responses=answers.BY_ID)
async def lead_history(
    lead_id: UUID,
    account: CurrentAccount,
    reader: ReaderDep,
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> LeadHistory:
    """Every event of one of the account's leads, across campaigns, oldest first.

    A lead the account does not have (another account's, or none) answers 404."""
    events = await queries.lead_history(reader, account, lead_id, limit)
    if not events:
        known = await pool.fetchval(
            "SELECT 1 FROM leads WHERE id = $1 AND account_id = $2", lead_id, account
        )
        if known is None:
            raise ProblemError(404, "lead not found")
    return LeadHistory(lead_id=lead_id, events=events)
