"""The Postgres pool (asyncpg), a fail-fast connectivity check, and what "Postgres is away" is.

A Postgres restart breaks the connections a pool holds; the pool replaces them by
itself once the server is back. What breaks are the queries in flight or started
on a dying connection: `postgres_unavailable` tells their errors (retry the step)
from a query that is wrong (do not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from shared.errors import DependencyUnavailable

DROP_RETRY_S = 10.0  # how long a database drop waits out an autovacuum worker

# How this process's connections show in `pg_stat_activity` (`fanout-<service>` once
# `name_connections` ran): operators see which service holds which connection, and the
# benchmark splits the server's CPU time by service (`fanout_cli/bench/pg_load.py`).
_application_name = "fanout"


def name_connections(name: str) -> None:
    """Pools opened from now on by this process show as `name` (at most 63 characters)."""
    global _application_name
    _application_name = name[:63]


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL).

    Fanout never leaves session state behind (no SET, LISTEN, advisory locks or held
    cursors), and asyncpg still rolls back a transaction left open before calling this;
    the default reset cost a round trip on every release (each `pool.fetch`), measured
    as a tenth of the sender's socket writes.
    """


# Planner settings a service may give its sessions (`create_pool(planner=...)`).
# INDEX_PROBES: sequential scans only where no index applies, for services whose
# statements all look rows up by key (many keys per statement). A pooled connection keeps
# a statement's generic plan for its life; one made while a table was empty or small (a
# new database, a table emptied since its last ANALYZE) scanned that table for every key
# looked up as it grew (webhook_ingest's soft-bounce look-up: 7.8 ms per request on
# average over a 200k campaign). With this setting the plan probes the index whatever
# size the table had when it was planned. Only for sessions that never need a scan: the
# lead resolver's sweep of campaigns took 379 ms per call with it (its page alone sets
# it: `SET LOCAL`).
# Nor JIT compilation: no statement of theirs is worth compiling, and a generic plan whose
# estimate a table's stale statistics inflate crossed `jit_above_cost` (the sender's
# screening look-up: 45 functions compiled per call, 48-60 ms a call against 0.3 ms;
# bench/results/20261204T1838Z-jit-off).
INDEX_PROBES = {"enable_seqscan": "off", "jit": "off"}
# GENERIC_INDEX_PROBES: the same, and every prepared statement run from its generic plan.
# Postgres re-plans a statement for each run while a plan made for the run's parameters
# looks cheaper than the generic one, which it does for a statement over arrays of a few
# rows (the planner counts an array parameter's elements): webhook_ingest's soft-bounce
# statements and its filter's catch-up were planned on every call, which cost more than
# running them (366 ms of planning against 284 ms of execution over a 300k campaign), and
# the sender's look-up likewise (129 ms against 76; pg_stat_statements with
# track_planning). With sequential scans off their generic plans probe the same indexes
# (tests check the plans).
GENERIC_INDEX_PROBES = {**INDEX_PROBES, "plan_cache_mode": "force_generic_plan"}


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, planner: Mapping[str, str] | None = None
) -> asyncpg.Pool:
    """Open a pool, failing fast with a clear message when Postgres is unreachable.

    `planner`: settings of every session (`INDEX_PROBES`)."""
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=10,
            command_timeout=60,
            reset=_keep_session,
            server_settings={**(planner or {}), "application_name": _application_name},
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise postgres_unreachable(dsn, exc) from exc
    assert pool is not None
    return pool


# Errors that only ever mean the server or the connection went away.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset
    TimeoutError,  # connect or acquire timed out
    asyncpg.PostgresConnectionError,  # closed in the middle of an operation
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    # A fast shutdown's FATAL message can reach an idle pooled connection before its socket
    # closes; the next query on it finds the protocol still consuming that message
    # ("cannot switch to state 12; another operation (2) is in progress", asyncpg 0.32).
    asyncpg.InternalClientError,
)


def postgres_unavailable(exc: BaseException) -> bool:
    """True when `exc` says Postgres went away (restart, dropped connection), not that the
    query was wrong: the step that ran the query retries it, the pool heals itself."""
    # a plain InterfaceError is a closed connection ("cannot call Transaction.__aexit__():
    # the underlying connection is closed"); its subclasses (DataError, ...) are bad input
    return type(exc) is asyncpg.InterfaceError or isinstance(exc, _UNAVAILABLE)


def postgres_unreachable(dsn: str, exc: BaseException) -> DependencyUnavailable:
    """The error every Postgres client of Fanout raises when the server does not answer."""
    return DependencyUnavailable(
        f"PostgreSQL at {redact_dsn(dsn)} is unreachable",
        setting="FANOUT_DATABASE_URL",
        cause=f"{exc.__class__.__name__}: {exc}",
        remedy="start it with `fanout stack up`",
    )


@asynccontextmanager
async def open_pool(
    dsn: str, *, max_size: int, planner: Mapping[str, str] | None = None
) -> AsyncIterator[asyncpg.Pool]:
    """A pool for the length of the block (for a service's exit stack or lifespan)."""
    pool = await create_pool(dsn, max_size=max_size, planner=planner)
    try:
        yield pool
    finally:
        await pool.close()


async def check_postgres(pool: asyncpg.Pool) -> None:
    """Raise if the pool cannot run a trivial query (used by /readyz)."""
    async with pool.acquire(timeout=2) as conn:
        await conn.fetchval("SELECT 1")


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced, safe for logs and errors."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


async def fetch_if_first(
    conn: asyncpg.Connection, lock_key: int, query: str, *args: object
) -> list[asyncpg.Record]:
    """The rows of `query` if this transaction takes advisory lock `lock_key` (one worker
    at a time drains a queue table, in order); none when another worker holds it."""
    if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", lock_key):
        return []
    rows: list[asyncpg.Record] = await conn.fetch(query, *args)
    return rows


async def fetch_whole_value(conn: asyncpg.Connection, query: str, *args: object) -> Any:
    """The first column of the first row of `query`, run to completion.

    asyncpg's `fetchval` asks the server for one row (an Execute limited to one), and a
    portal that may be suspended never starts parallel workers: PostgreSQL keeps the plan's
    Gather but runs it in this backend alone. An aggregate over a large scan (a condition's
    `count(*)` over a million leads) needs the whole result anyway; fetched so, it may run
    on the parallel workers its plan asks for (the costliest condition on 1M leads: 1.6–2.4 s
    → 1.0–1.3 s side by side, docs/conditions.md)."""
    rows = await conn.fetch(query, *args)
    return rows[0][0] if rows else None


async def drop_database(admin: asyncpg.Connection, name: str) -> None:
    """`DROP DATABASE name WITH (FORCE)` (if it exists), by a role that is not a superuser.

    FORCE terminates the database's sessions, but PostgreSQL refuses (insufficient
    privilege) while an autovacuum worker is in it, since no role owns that process; the
    worker is done with a small database within moments, so the drop is tried again
    for a few seconds before the refusal is raised.
    """
    statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(asyncpg.InsufficientPrivilegeError),
        stop=stop_after_delay(DROP_RETRY_S),
        wait=wait_fixed(0.2),
        reraise=True,
    ):
        with attempt:
            await admin.execute(statement)
