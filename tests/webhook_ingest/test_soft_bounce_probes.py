"""webhook_ingest's look-up of delivered addresses' soft-bounce runs, on a session like
the service's (`shared.db.INDEX_PROBES`): one index probe per address, never a scan or
a hash of all of `soft_bounces` (the request's cost stays flat in the table's size)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.webhook_ingest.soft_bounces import LOCK_RUNS
from shared.db import INDEX_PROBES
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
