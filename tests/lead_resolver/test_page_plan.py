"""The page of leads costs the same at any checkpoint: its plan seeks the index to it.

A generic plan (what Postgres caches for a prepared statement after a few runs) of a
statement reading `($2 IS NULL OR l.id > $2)` could not use the checkpoint as an index
bound, so every page read all the leads before it (a page's cost grew with the campaign).
The suppression look-up is scoped by the account parameter: hashed, it holds the
account's suppressions, never every account's.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
import pytest

from services.lead_resolver import store
from shared.conditions import compile_condition, parse_condition
from tests import factories
from tests.plans import generic_plan_scans
from tests.send_path import seed_campaign

pytestmark = pytest.mark.postgres

EVERY_LEAD = {"field": "email", "op": "exists", "value": True}
FIRST = store.FIRST_CONDITION_PARAM


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan, depth first."""
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize("screened", [False, True], ids=["probed", "screened"])
async def test_next_page_seeks_the_checkpoint_with_a_generic_plan(
    pool: asyncpg.Pool, screened: bool
) -> None:
    seeded = await seed_campaign(pool, matching=300, suppressed=6)
    other = await factories.account(pool, "someone else's suppressions")
    await pool.execute(
        "INSERT INTO suppressions (account_id, email, reason) "
        "SELECT $1, 'x' || g || '@example.com', 'hard_bounce' FROM generate_series(1, 200) g",
        other.id,
    )
    campaign = await store.load(pool, seeded.campaign_id)
    assert campaign is not None
    # the benchmark's audience (every lead): no index of its own to prefer over the id order
    compiled = compile_condition(
        parse_condition(EVERY_LEAD), now=campaign.audience_at, first_param=FIRST
    )
    ids = [
        r["id"]
        for r in await pool.fetch(
            "SELECT id FROM leads WHERE account_id = $1 ORDER BY id", campaign.account_id
        )
    ]
    checkpoint, limit = ids[len(ids) // 2], 50
    # the page the resolver's filter screens: the same but the probe, its xmin last ($5)
    page_sql = store.LEADS_PAGE_SCREENED if screened else store.LEADS_PAGE
    query = page_sql.format(after=store.AFTER_CHECKPOINT, condition=compiled.sql, xmin="$5")
    assert not compiled.params
    args: tuple[Any, ...] = (campaign.account_id, checkpoint, limit, campaign.audience_at)
    types, values = "uuid, uuid, int, timestamptz", ""
    if screened:
        args, types, values = (*args, 0), f"{types}, bigint", ", 0"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        page = await conn.fetch(query, *args)
        # a server-side prepared statement, explained as it runs from the plan cache
        await conn.execute(f"PREPARE page({types}) AS {query}")
        explained = await conn.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page("
            f"'{campaign.account_id}', '{checkpoint}', {limit}, "
            f"'{campaign.audience_at.isoformat()}'{values})"
        )
        await conn.execute("DEALLOCATE page")
    assert [r["id"] for r in page] == [i for i in ids if i > checkpoint][:limit]
    assert sum(r["suppressed"] for r in page) <= 6  # only this account's suppressions
    nodes = _nodes(orjson.loads(explained)[0]["Plan"])
    leads = [n for n in nodes if n.get("Relation Name") == "leads"]
    assert len(leads) == 1
    scan = leads[0]
    assert "id > $2" in scan.get("Index Cond", ""), scan  # the checkpoint bounds the index
    assert scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0) == limit, scan
    for node in nodes:  # hashed or probed, the look-up reads this account's suppressions only
        if node.get("Relation Name") == "suppressions":
            assert node["Actual Rows"] * node.get("Actual Loops", 1) <= limit, node


async def test_first_page_reads_from_the_start(pool: asyncpg.Pool) -> None:
    seeded = await seed_campaign(pool, matching=120)
    campaign = await store.load(pool, seeded.campaign_id)
    assert campaign is not None and campaign.checkpoint_lead_id is None
    compiled = compile_condition(
        parse_condition(campaign.condition), now=campaign.audience_at, first_param=FIRST
    )
    first = await store.leads_page(pool, campaign, compiled.sql, list(compiled.params), 100)
    expected = await pool.fetch(
        "SELECT id FROM leads WHERE account_id = $1 AND country = 'DE' ORDER BY id LIMIT 100",
        campaign.account_id,
    )
    assert [r["id"] for r in first] == [r["id"] for r in expected]


async def test_page_probes_suppressions_whatever_the_tables_size(pg_dsn: str) -> None:
    # planned as the resolver plans it (`store.PAGE_PLANNER`): a generic plan made while
    # `suppressions` was small scanned it for every lead as it grew; now an index probe
    query = store.LEADS_PAGE.format(after=store.AFTER_CHECKPOINT, condition="l.email IS NOT NULL")
    conn = await asyncpg.connect(pg_dsn)
    try:
        async with conn.transaction():
            await conn.execute(store.PAGE_PLANNER)
            scans = await generic_plan_scans(conn, query, ["uuid", "uuid", "int", "timestamptz"])
    finally:
        await conn.close()
    assert {s.relation for s in scans} == {"leads", "suppressions"}
    for scan in scans:
        assert scan.node in {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scan
