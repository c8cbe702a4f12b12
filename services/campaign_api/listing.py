"""Keyset listing of an account's rows, the query every id-ordered list endpoint runs.

The routes fetch `limit + 1` rows and let `PageQuery.page` tell from the extra one
whether more follow (`services.campaign_api.api.pagination`).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def account_rows(
    db: asyncpg.Pool | asyncpg.Connection,
    table: str,
    columns: str,
    account: UUID,
    *,
    after: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` rows of `account` in `table` (a constant, never input), in id order
    after id `after`."""
    rows: list[asyncpg.Record] = await db.fetch(
        f"""
        SELECT {columns} FROM {table}
        WHERE account_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3
        """,
        account,
        after,
        limit,
    )
    return rows
