"""One small interface over ClickHouse, embedded (chDB) or a server.

With `FANOUT_CLICKHOUSE_URL` empty, the engine runs in-process through chDB on
disk under the stack's data folder; with a URL, clickhouse-connect talks to a
server. Both are clickhouse-connect clients, so the SQL and the calls are the
same. chDB blocks and allows one connection per thread: `AsyncClickHouse`
runs every call on one dedicated thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from shared.errors import DependencyUnavailable
from shared.settings import CommonSettings

URL_SETTING = "FANOUT_CLICKHOUSE_URL"


@contextlib.contextmanager
def _unavailable(problem: str, setting: str, remedy: str) -> Iterator[None]:
    """Any failure inside becomes `DependencyUnavailable` naming `setting`, with its cause."""
    try:
        yield
    except Exception as exc:
        cause = str(exc)
        raise DependencyUnavailable(problem, setting=setting, cause=cause, remedy=remedy) from exc


def connect(
    common: CommonSettings,
    *,
    settings: dict[str, Any] | None = None,
    max_server_memory_bytes: int | None = None,
    engine_options: dict[str, Any] | None = None,
) -> Client:
    """A client for the configured ClickHouse (server URL) or the embedded chDB folder.

    `settings` are session settings of this client (e.g. `readonly`, `max_memory_usage`);
    `max_server_memory_bytes` caps the embedded engine's memory and `engine_options` are
    further server settings of the embedded engine (cache sizes, pools); both are ignored
    for a server, which has its own configuration.
    """
    if common.clickhouse_url:
        server = common.clickhouse_url.split("@")[-1]
        remedy = "start it, leave the setting empty for embedded chDB,"
        with _unavailable(f"ClickHouse at {server} is unreachable", URL_SETTING, remedy):
            return clickhouse_connect.get_client(
                dsn=common.clickhouse_url, settings=dict(settings or {})
            )
    return connect_embedded(
        common.chdb_path,
        settings=settings,
        max_server_memory_bytes=max_server_memory_bytes,
        engine_options=engine_options,
    )


def connect_embedded(
    path: Path,
    *,
    settings: dict[str, Any] | None = None,
    max_server_memory_bytes: int | None = None,
    engine_options: dict[str, Any] | None = None,
) -> Client:
    """A chDB client on `path`; fails clearly when another process holds the folder.

    `engine_options` are server settings of the engine (e.g. `mark_cache_size`): like
    the memory cap, only the first client opening the folder in this process sets them.
    """
    path.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = dict(engine_options or {})
    if max_server_memory_bytes:
        # an engine-wide cap: the first client opening the folder in this process sets it
        options["max_server_memory_usage"] = max_server_memory_bytes
    problem = f"embedded ClickHouse (chDB) at {path} cannot be opened; only one process may open it"
    remedy = f"stop the other one (report_sink), use a server ({URL_SETTING})"
    with _unavailable(problem, "FANOUT_HOME", remedy):
        return clickhouse_connect.get_client(
            dsn=f"chdb://{path}", settings=dict(settings or {}), chdb_options=options or None
        )


class AsyncClickHouse:
    """Runs a client's blocking calls on a single dedicated thread."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: fn(*args, **kwargs))

    async def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        """Run a statement that returns no rows (DDL, ALTER, ...)."""
        return await self._run(self._client.command, sql, parameters=parameters)

    async def rows(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run a query with server-side bound parameters; all rows as tuples."""
        result = await self._run(self._client.query, sql, parameters=parameters)
        return list(result.result_rows)

    async def dicts(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query; rows as dicts keyed by column name."""
        result = await self._run(self._client.query, sql, parameters=parameters)
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    async def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        columns: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Insert rows in one block (pass `insert_deduplication_token` for idempotence)."""
        await self._run(
            self._client.insert, table, rows, column_names=list(columns), settings=settings or {}
        )

    async def raw_insert(
        self,
        table: str,
        columns: Sequence[str],
        body: bytes,
        fmt: str,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Insert pre-formatted rows (e.g. `JSONEachRow` lines): the engine parses them."""
        await self._run(
            self._client.raw_insert,
            table,
            list(columns),
            body,
            settings=settings or {},
            fmt=fmt,
        )

    async def query(
        self, sql: str, parameters: dict[str, Any] | None = None
    ) -> tuple[list[str], list[str], list[tuple[Any, ...]]]:
        """Run a query; (column names, column type names, rows)."""
        result = await self._run(self._client.query, sql, parameters=parameters)
        types = [t.name for t in result.column_types]
        return list(result.column_names), types, list(result.result_rows)

    async def raw(
        self, sql: str, parameters: dict[str, Any] | None = None, fmt: str = "CSV"
    ) -> bytes:
        """Run a query; the engine's own output in `fmt` (e.g. CSV), no Python per row."""
        data: bytes = await self._run(self._client.raw_query, sql, parameters=parameters, fmt=fmt)
        return data

    async def ping(self) -> bool:
        """True when a trivial query answers."""
        return bool(await self.rows("SELECT 1"))

    def close(self) -> None:
        """Close the client and its thread."""
        self._client.close()
        self._thread.shutdown(wait=True)
