"""The resolver's page of leads, planned as the resolver plans it (`store.PAGE_PLANNER`):
the leads are read through the account's index from the checkpoint and each lead's
suppression is an index probe, never a scan of `suppressions` per lead, whatever size the
tables had when the page's generic plan was made."""

from __future__ import annotations

import asyncpg

from services.lead_resolver import store
from tests.plans import generic_plan_scans

PAGE_TYPES = ["uuid", "uuid", "int", "timestamptz"]


async def test_page_reads_by_index_and_probes_suppressions(pg_dsn: str) -> None:
    query = store.LEADS_PAGE.format(after=store.AFTER_CHECKPOINT, condition="l.email IS NOT NULL")
    conn = await asyncpg.connect(pg_dsn)
    try:
        async with conn.transaction():
            await conn.execute(store.PAGE_PLANNER)
            scans = await generic_plan_scans(conn, query, PAGE_TYPES)
    finally:
        await conn.close()
    assert {s.relation for s in scans} == {"leads", "suppressions"}
    for scan in scans:
        assert scan.node in {"Index Scan", "Index Only Scan"}, scan
