"""webhook_ingest's look-up of delivered addresses' soft-bounce runs, on a session like
the service's (`shared.db.INDEX_PROBES`): one index probe per address, never a scan or
a hash of all of `soft_bounces` (the request's cost stays flat in the table's size)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from services.webhook_ingest import known_runs, soft_bounces, suppressions
from services.webhook_ingest.soft_bounces import LOCK_RUNS
from shared.db import GENERIC_INDEX_PROBES, INDEX_PROBES
from tests import factories
from tests.plans import custom_plan_scans, generic_plan_scans


async def test_run_look_up_is_an_index_probe_per_address(pg_dsn: str, pool: asyncpg.Pool) -> None:
    # 500 delivered addresses against 3,000 analysed runs, planned with the request's keys
    acc = await factories.account(pool)
    await pool.execute(
        "INSERT INTO soft_bounces (account_id, email) "
        "SELECT $1, 'r' || g || '@example.com' FROM generate_series(1, 3000) g",
        acc.id,
    )
    await pool.execute("ANALYZE soft_bounces")
    many = 500
    delivered = [
        [acc.id] * many,
        [f"d{i}@example.com" for i in range(many)],
        [datetime.now(UTC)] * many,
        [False] * many,
    ]
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        scans = await generic_plan_scans(
            conn, LOCK_RUNS, ["uuid[]", "text[]", "timestamptz[]", "bool[]"]
        )
        async with conn.transaction():  # EXPLAIN plans the insert without running it
            scans += await custom_plan_scans(conn, LOCK_RUNS, delivered)
    finally:
        await conn.close()
        await pool.execute("DELETE FROM accounts WHERE id = $1", acc.id)
    runs = [s for s in scans if s.relation == "soft_bounces"]
    assert len(runs) == 2  # the generic plan's and the custom plan's
    for scan in runs:
        assert scan.node in {"Index Scan", "Index Only Scan"} and not scan.hashed, scan


WRITES = [
    (suppressions.INSERT_SUPPRESSIONS, ["uuid[]", "text[]", "text[]", "text[]"]),
    (LOCK_RUNS, ["uuid[]", "text[]", "timestamptz[]", "bool[]"]),
    (soft_bounces.COUNT_BOUNCES, ["uuid[]", "text[]", "uuid[]", "timestamptz[]"]),
    (soft_bounces.DROP_ENDED, ["uuid[]", "text[]"]),
    (soft_bounces.RECOUNT_AND_SUPPRESS, ["uuid[]", "text[]", "text[]", "int"]),
    (suppressions.MARK_UNSUBSCRIBED, ["uuid[]", "uuid[]", "timestamptz[]"]),
    (known_runs.CATCH_UP, ["text", "text[]"]),
]


@pytest.mark.parametrize(("sql", "types"), WRITES, ids=lambda v: str(v)[:30])
async def test_every_statement_of_a_request_runs_generic_plans_of_index_probes(
    pg_dsn: str, sql: str, types: list[str]
) -> None:
    # the service's sessions run every statement from its generic plan
    # (`shared.db.GENERIC_INDEX_PROBES`): each must read its tables by key, never whole
    conn = await asyncpg.connect(pg_dsn, server_settings=GENERIC_INDEX_PROBES)
    try:
        scans = await generic_plan_scans(conn, sql, types)
    finally:
        await conn.close()
    assert scans
    for scan in scans:
        assert scan.node in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scan
        assert not scan.hashed, scan
