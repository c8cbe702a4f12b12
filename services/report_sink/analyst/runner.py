"""Running an analyst's statement: operators' (any table) or one account's (its rows only).

Every call parses, checks and rebuilds the statement in the engine (`parse.py`,
`policy.py`, `scope.py`, `describe.py`), then runs the rebuilt SQL on the analyst
client, whose session is read-only with limits on time, memory, result rows and
result bytes (`services.report_sink.main.open_clickhouse`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from clickhouse_connect.driver.exceptions import ClickHouseError

from services.report_sink.analyst import parse
from services.report_sink.analyst.describe import describe_sql, described_table
from services.report_sink.analyst.errors import QueryRefused
from services.report_sink.analyst.policy import check_read_only
from services.report_sink.analyst.scope import PLACEHOLDER, READABLE, ScopedTable, scope_to_account
from shared.clickhouse import AsyncClickHouse

COLUMNS = (
    "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}"
    " ORDER BY position"
)
TABLES = "SELECT name FROM system.tables WHERE database = currentDatabase()"


TOO_MANY_ROWS_OR_BYTES = 396


@dataclass(frozen=True)
class SqlAnswer:
    """Columns, their ClickHouse types and the rows."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


class AnalystSql:
    """The analysts' SQL over one read-only client."""

    def __init__(self, client: AsyncClickHouse) -> None:
        self._client = client
        self._tables: dict[str, ScopedTable] = {}

    async def run_admin(self, sql: str) -> SqlAnswer:
        """An operator's statement: any table, read only."""
        tree = await parse.parse_tree(self._client, sql)
        if tree is None:
            return await self._run(describe_sql(await self._described(sql)))
        check_read_only(tree)
        return await self._run(await parse.format_tree(self._client, tree))

    async def run_for_account(self, sql: str, account: UUID) -> SqlAnswer:
        """`account`'s statement: its rows of the report tables, nothing else."""
        tree = await parse.parse_tree(self._client, sql)
        if tree is None:
            parts = await self._described(sql)
            if len(parts) != 1 or parts[0] not in READABLE:
                raise QueryRefused(f"DESCRIBE is allowed of {', '.join(READABLE)} only")
            return await self._run(describe_sql(parts))
        check_read_only(tree)
        taken = {str(row[0]) for row in await self._client.rows(TABLES)}
        scope_to_account(tree, account, await self._scoped_tables(), taken)
        return await self._run(await parse.format_tree(self._client, tree))

    async def _described(self, sql: str) -> tuple[str, ...]:
        return described_table(await parse.explain_ast(self._client, sql))

    async def _scoped_tables(self) -> dict[str, ScopedTable]:
        """Each readable table's account filter, parsed once (the schema is migrated at
        start-up, before any query)."""
        if not self._tables:
            [(database,)] = await self._client.rows("SELECT currentDatabase()")
            for table in READABLE:
                names = await self._client.rows(COLUMNS, {"table": table})
                columns = ", ".join(f"`{name}`" for (name,) in names)
                select = (
                    f"SELECT {columns} FROM `{database}`.`{table}` "
                    f"WHERE account_id = toUUID('{PLACEHOLDER}')"
                )
                tree = await parse.parse_tree(self._client, select)
                assert tree is not None
                self._tables[table] = ScopedTable(tree)
        return self._tables

    async def _run(self, sql: str) -> SqlAnswer:
        try:
            columns, types, rows = await self._client.query(sql)
        except ClickHouseError as exc:
            hint = " (add a LIMIT)" if parse.error_code(exc) == TOO_MANY_ROWS_OR_BYTES else ""
            raise QueryRefused(parse.first_line(exc) + hint) from exc
        return SqlAnswer(columns, types, rows)
