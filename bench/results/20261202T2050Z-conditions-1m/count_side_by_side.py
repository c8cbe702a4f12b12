"""Each condition's count(*) on 1M leads, asyncpg's `fetchval` against `fetch_whole_value`.

`fetchval` executes the portal for one row, which keeps PostgreSQL from starting the
plan's parallel workers; `fetch_whole_value` runs it to completion. Both in one process,
alternating per round on the same scratch database (the leads of `fanout bench
conditions`), medians per condition. Run: `.venv/bin/python <this file> [rounds]`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from fanout_cli.bench.conditions import CONDITIONS, NOW, load_leads
from fanout_cli.bench.scratch import scratch_database
from shared.conditions import compile_condition, parse_condition
from shared.db import fetch_whole_value
from shared.settings import CommonSettings

LEADS = 1_000_000


async def main(rounds: int) -> None:
    async with scratch_database(CommonSettings().database_url) as scratch:
        pool = scratch.pool
        account = await load_leads(pool, LEADS, "ab")
        async with pool.acquire() as conn:
            sys.stdout.write(
                "| condition | matched | fetchval ms | fetch_whole_value ms | ratio |\n"
                "|---|---:|---:|---:|---:|\n"
            )
            for _, label, raw in CONDITIONS:
                compiled = compile_condition(parse_condition(raw), now=NOW, first_param=2)
                query = f"SELECT count(*) FROM leads l WHERE l.account_id = $1 AND {compiled.sql}"
                args = (account, *compiled.params)
                one, whole = [], []
                for _ in range(rounds):
                    started = time.perf_counter()
                    first = await conn.fetchval(query, *args)
                    one.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    second = await fetch_whole_value(conn, query, *args)
                    whole.append(time.perf_counter() - started)
                    assert first == second
                a, b = statistics.median(one) * 1000, statistics.median(whole) * 1000
                sys.stdout.write(f"| `{label}` | {first:,} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |\n")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
