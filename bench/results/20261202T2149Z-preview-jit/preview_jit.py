"""Each condition's count on 1M leads with PostgreSQL's JIT as configured and off.

Three settings, alternating per round on one scratch database of `fanout bench
conditions`' leads, medians of ROUNDS: the server's defaults; the preview's own settings
(`PREVIEW_SETTINGS`: JIT off); and JIT with its thresholds divided by SCALE, which is
what the planner's estimates reach for an account SCALE times larger (its costs grow
with the rows scanned). For each, whether the plan was JIT-compiled with optimisation.
Run: `.venv/bin/python <this file>`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import asyncpg

from fanout_cli.bench.conditions import CONDITIONS, NOW, load_leads
from fanout_cli.bench.scratch import scratch_database
from services.campaign_api.segments import PREVIEW_SETTINGS
from shared.conditions import compile_condition, parse_condition
from shared.db import fetch_whole_value
from shared.settings import CommonSettings

LEADS, ROUNDS, SCALE = 1_000_000, 3, 5
LARGER = (
    f"SET LOCAL jit_above_cost = {100_000 // SCALE}; "
    f"SET LOCAL jit_optimize_above_cost = {500_000 // SCALE}; "
    f"SET LOCAL jit_inline_above_cost = {500_000 // SCALE}"
)
SETTINGS = {"defaults": "", "preview (JIT off)": PREVIEW_SETTINGS, f"{SCALE}x account": LARGER}


async def timed(
    conn: asyncpg.Connection, settings: str, query: str, args: tuple[object, ...]
) -> tuple[float, bool]:
    async with conn.transaction():
        if settings:
            await conn.execute(settings)
        started = time.perf_counter()
        await fetch_whole_value(conn, query, *args)
        took = time.perf_counter() - started
        plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *args))
    optimised = bool(plan[0].get("JIT", {}).get("Options", {}).get("Optimization"))
    return took, optimised


async def main() -> None:
    async with scratch_database(CommonSettings().database_url) as scratch:
        pool = scratch.pool
        account = await load_leads(pool, LEADS, "jit")
        async with pool.acquire() as conn:
            names = list(SETTINGS)
            sys.stdout.write(
                "| condition | " + " | ".join(f"{n} ms" for n in names) + " |\n"
                "|---|" + "---:|" * len(names) + "\n"
            )
            for _, label, raw in CONDITIONS:
                compiled = compile_condition(parse_condition(raw), now=NOW, first_param=2)
                query = f"SELECT count(*) FROM leads l WHERE l.account_id = $1 AND {compiled.sql}"
                args = (account, *compiled.params)
                times: dict[str, list[float]] = {n: [] for n in names}
                jitted: dict[str, bool] = {}
                for _ in range(ROUNDS):
                    for name, settings in SETTINGS.items():
                        took, jitted[name] = await timed(conn, settings, query, args)
                        times[name].append(took)
                cells = [
                    f"{statistics.median(times[n]) * 1000:,.0f}{' (JIT opt.)' if jitted[n] else ''}"
                    for n in names
                ]
                sys.stdout.write(f"| `{label}` | " + " | ".join(cells) + " |\n")


if __name__ == "__main__":
    asyncio.run(main())
