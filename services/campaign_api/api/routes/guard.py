"""The guard's thresholds of the account: when it pauses campaigns (docs/deliverability.md)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.campaign_api.api.models.reputation import GuardSettings
from shared.auth import CurrentAccount
from shared.http import answers
from shared.http.state import PoolDep
from shared.reputation import GuardThresholds, load_thresholds, save_thresholds

router = APIRouter(prefix="/guard", tags=["guard"], responses=answers.AUTHENTICATED)


async def _settings(pool: PoolDep, account: CurrentAccount) -> GuardSettings:
    custom = await pool.fetchval("SELECT 1 FROM guard_settings WHERE account_id = $1", account)
    [thresholds] = (await load_thresholds(pool, [account])).values()
    return GuardSettings(thresholds=thresholds, defaults=custom is None)


@router.get("", response_model=GuardSettings)
async def get_guard(account: CurrentAccount, pool: PoolDep) -> GuardSettings:
    """The thresholds by which the guard pauses the account's campaigns (each campaign, over
    its latest outcomes, and all of them at the account-wide line)."""
    return await _settings(pool, account)


@router.put("", response_model=GuardSettings, responses=answers.WITH_BODY)
async def put_guard(body: GuardThresholds, account: CurrentAccount, pool: PoolDep) -> GuardSettings:
    """Replace the account's thresholds (every field; omitted ones take their defaults).
    A value out of range, or a window or account line below the campaign line, answers 422
    naming the field; nothing changes. Running campaigns are judged by them from the
    guard's next batch of events on."""
    await save_thresholds(pool, account, body)
    return await _settings(pool, account)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
async def reset_guard(account: CurrentAccount, pool: PoolDep) -> Response:
    """Go back to the default thresholds."""
    await pool.execute("DELETE FROM guard_settings WHERE account_id = $1", account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
