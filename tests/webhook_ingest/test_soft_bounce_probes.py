"""webhook_ingest's look-up of delivered addresses' soft-bounce runs, on a session like
the service's (`shared.db.INDEX_PROBES`): one index probe per address, never a scan or
a hash of all of `soft_bounces` (the request's cost stays flat in the table's size)."""

from __future__ import annotations

import asyncpg

from services.webhook_ingest.soft_bounces import LOCK_RUNS
from shared.db import INDEX_PROBES
from tests.plans import generic_plan_scans


async def test_run_look_up_is_an_index_probe_per_address(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn, server_settings=INDEX_PROBES)
    try:
        scans = await generic_plan_scans(
            conn, LOCK_RUNS, ["uuid[]", "text[]", "timestamptz[]", "bool[]"]
        )
    finally:
        await conn.close()
    assert {s.relation for s in scans} == {"soft_bounces", "accounts"}
    for scan in scans:
        assert scan.node in {"Index Scan", "Index Only Scan"} and not scan.hashed, scan
