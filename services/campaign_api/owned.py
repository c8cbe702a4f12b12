"""An account's own rows of a table: one by id, or a keyset page in id order.

Every account-owned table has `id` and `account_id`; naming both in the WHERE clause
is what keeps one account from reading another's rows, so the queries live here once.
Table and column names cannot be query parameters: `table` is one of `OwnedTable` (mypy
refuses any other string at a call site) and `columns` a constant of the caller
(`LiteralString`), never input. List routes fetch
`limit + 1` rows and let `PageQuery.page` tell from the extra one whether more follow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, LiteralString, TypeAlias
from uuid import UUID

import asyncpg

Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"
Missing: TypeAlias = Callable[[UUID], Exception]
OwnedTable: TypeAlias = Literal[
    "campaigns",
    "leads",
    "templates",
    "provider_configs",
    "sending_domains",
    "webhook_endpoints",
    "warmups",
]


async def fetch_owned(
    db: Db,
    table: OwnedTable,
    columns: LiteralString,
    account: UUID,
    row_id: UUID,
    *,
    for_update: bool = False,
) -> asyncpg.Record | None:
    """Row `row_id` of `table` if `account` owns it; `for_update`: locked until the
    transaction ends."""
    lock = " FOR UPDATE" if for_update else ""
    row: asyncpg.Record | None = await db.fetchrow(
        f"SELECT {columns} FROM {table} WHERE id = $1 AND account_id = $2{lock}", row_id, account
    )
    return row


async def require_owned(
    db: Db,
    table: OwnedTable,
    columns: LiteralString,
    account: UUID,
    row_id: UUID,
    missing: Missing,
    *,
    for_update: bool = False,
) -> asyncpg.Record:
    """Like `fetch_owned`, but `missing(row_id)` is raised if `account` owns no such row."""
    row = await fetch_owned(db, table, columns, account, row_id, for_update=for_update)
    if row is None:
        raise missing(row_id)
    return row


async def list_owned(
    db: Db,
    table: OwnedTable,
    columns: LiteralString,
    account: UUID,
    *,
    after: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to `limit` rows of `account` in `table`, in id order after id `after`."""
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
