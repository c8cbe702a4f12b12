"""Where PostgreSQL's time goes during a run: per statement, and per server process.

`pg_stat_statements` (preloaded by `fanout stack up`: `fanout_cli/stack/postgres.py`)
counts every statement's calls, execution time, rows and WAL; a snapshot before and
after a run gives what the run cost, statement by statement. `pg_stat_activity` names
each server process (the client's `application_name`, set by every Fanout service, or
the background worker's type), so the sampler can split the server's CPU time by who
asked for it (`sampler.py`). A server without the module gives no statements (and
says so), never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

STATEMENTS = """
SELECT queryid, query, calls, total_exec_time, total_plan_time, rows, wal_bytes
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid IS NOT NULL
"""
ACTIVITY = """
SELECT pid, CASE WHEN backend_type = 'client backend'
                 THEN coalesce(nullif(application_name, ''), 'client (unnamed)')
                 ELSE backend_type END AS role
FROM pg_stat_activity
"""
QUERY_CHARS = 160


@dataclass(frozen=True)
class StatementTotals:
    """One statement's cumulative figures at a moment."""

    query: str
    calls: int
    exec_ms: float
    plan_ms: float
    rows: int
    wal_bytes: int


@dataclass
class StatementLoad:
    """What one statement cost during a run."""

    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    wal_bytes: int


Snapshot = dict[int, StatementTotals]


async def statements_available(conn: asyncpg.Connection) -> bool:
    """Whether `pg_stat_statements` can be read in this database."""
    return bool(await conn.fetchval("SELECT to_regclass('pg_stat_statements') IS NOT NULL"))


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    """Every statement's totals now (empty without the module)."""
    if not await statements_available(conn):
        return {}
    return {
        row["queryid"]: StatementTotals(
            query=_one_line(row["query"]),
            calls=row["calls"],
            exec_ms=row["total_exec_time"],
            plan_ms=row["total_plan_time"],
            rows=row["rows"],
            wal_bytes=int(row["wal_bytes"] or 0),
        )
        for row in await conn.fetch(STATEMENTS)
    }


def difference(before: Snapshot, after: Snapshot, top: int = 20) -> list[StatementLoad]:
    """The `top` statements by time spent between the snapshots (plan + execution)."""
    loads: list[StatementLoad] = []
    for key, now in after.items():
        then = before.get(key)
        calls = now.calls - (then.calls if then else 0)
        if calls <= 0:
            continue
        spent = now.exec_ms + now.plan_ms - ((then.exec_ms + then.plan_ms) if then else 0.0)
        loads.append(
            StatementLoad(
                query=now.query,
                calls=calls,
                total_ms=round(spent, 1),
                mean_ms=round(spent / calls, 4),
                rows=now.rows - (then.rows if then else 0),
                wal_bytes=now.wal_bytes - (then.wal_bytes if then else 0),
            )
        )
    loads.sort(key=lambda load: load.total_ms, reverse=True)
    return loads[:top]


async def roles(conn: asyncpg.Connection) -> dict[int, str]:
    """Each server process's pid and who it works for (client or background worker)."""
    return {row["pid"]: row["role"] for row in await conn.fetch(ACTIVITY)}


def _one_line(query: str) -> str:
    text = re.sub(r"\s+", " ", query).strip()
    return text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 1] + "…"
