"""Warm-up schedules of an account: create (for one of its sending domains or provider
configurations), read with today's use, delete. The lead resolver applies them
(`services/lead_resolver/warmup.py`)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from services.campaign_api.owned import Db, list_owned, require_owned

COLUMNS = "id, domain, provider_config_id, starts_on, daily_limits, created_at"
CREATE = f"""
INSERT INTO warmups (account_id, domain, provider_config_id, starts_on, daily_limits)
VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}
"""
USED = "SELECT warmup_id, used FROM warmup_days WHERE warmup_id = ANY($1::uuid[]) AND day = $2"


class UnknownTarget(LookupError):
    """The domain or provider configuration is not one of the account's."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class WarmupExists(Exception):  # noqa: N818 - a conflict, named as the API says it
    """The target already has a schedule."""


class WarmupNotFound(LookupError):
    """No such schedule in this account."""


async def create_warmup(
    conn: asyncpg.Connection,
    account: UUID,
    *,
    domain: str | None,
    provider_config_id: UUID | None,
    starts_on: date,
    daily_limits: list[int],
) -> asyncpg.Record:
    """A new schedule; `UnknownTarget` or `WarmupExists` refuse it (nothing written)."""
    if domain is not None:
        found = await conn.fetchval(
            "SELECT 1 FROM sending_domains WHERE account_id = $1 AND name = $2", account, domain
        )
        if found is None:
            raise UnknownTarget("domain")
    if provider_config_id is not None:
        found = await conn.fetchval(
            "SELECT 1 FROM provider_configs WHERE account_id = $1 AND id = $2",
            account,
            provider_config_id,
        )
        if found is None:
            raise UnknownTarget("provider_config_id")
    try:
        async with conn.transaction():
            row: asyncpg.Record = await conn.fetchrow(
                CREATE, account, domain, provider_config_id, starts_on, daily_limits
            )
    except asyncpg.UniqueViolationError as exc:
        raise WarmupExists from exc
    return row


async def fetch_warmup(db: Db, account: UUID, warmup_id: UUID) -> asyncpg.Record:
    """The account's schedule `warmup_id`, or `WarmupNotFound`."""
    return await require_owned(
        db, "warmups", COLUMNS, account, warmup_id, lambda _: WarmupNotFound()
    )


async def list_warmups(
    db: Db, account: UUID, *, after: UUID | None, limit: int
) -> list[asyncpg.Record]:
    """The account's schedules in id order after `after`."""
    return await list_owned(db, "warmups", COLUMNS, account, after=after, limit=limit)


async def used_on(db: Db, warmup_ids: list[UUID], day: date) -> dict[UUID, int]:
    """What each schedule's campaigns emitted on `day`."""
    rows = await db.fetch(USED, warmup_ids, day)
    return {row["warmup_id"]: row["used"] for row in rows}


async def delete_warmup(db: Db, account: UUID, warmup_id: UUID) -> None:
    """Delete the schedule (its campaigns are no longer held by it); `WarmupNotFound`."""
    done: str = await db.execute(
        "DELETE FROM warmups WHERE id = $1 AND account_id = $2", warmup_id, account
    )
    if done.endswith(" 0"):
        raise WarmupNotFound
