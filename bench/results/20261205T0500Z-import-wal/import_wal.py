"""A million-lead import under the server's WAL settings, in a scratch database beside the stack's.

    python import_wal.py N base,wal8g,lz4,...

Each name sets the stack's Postgres (ALTER SYSTEM as its superuser, $ADMIN_URL; reload,
CHECKPOINT), then runs the
importer as `fanout bench import` does (CSV, chunks of 20,000), and prints its time, the
WAL it wrote, the checkpoints requested during it and the CPU of every Postgres process
(/proc, user + system) over it. The settings are reset at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import asyncpg
from proc_figures import postgres_cpu, say

from fanout_cli.bench import lead_import
from services.campaign_api.leads.parsing import ImportFormat
from shared.settings import CommonSettings

VARIANTS: dict[str, dict[str, str]] = {
    "base": {},
    "wal8g": {"max_wal_size": "8GB"},
    "lz4": {"wal_compression": "lz4"},
    "wal8g_lz4": {"max_wal_size": "8GB", "wal_compression": "lz4"},
}
KNOWN = ("max_wal_size", "wal_compression")


ADMIN_URL = os.environ.get("ADMIN_URL", "postgresql://postgres@127.0.0.1:55432/postgres")


async def configure(settings: dict[str, str]) -> tuple[int, int]:
    conn = await asyncpg.connect(ADMIN_URL)  # ALTER SYSTEM: the cluster's superuser
    try:
        for name in KNOWN:
            if name in settings:
                await conn.execute(f"ALTER SYSTEM SET {name} = '{settings[name]}'")
            else:
                await conn.execute(f"ALTER SYSTEM RESET {name}")
        await conn.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(0.5)
        await conn.execute("CHECKPOINT")
        requested = await conn.fetchval("SELECT checkpoints_req FROM pg_stat_bgwriter")
        lsn = await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(requested), int(lsn)
    finally:
        await conn.close()


async def wal(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        requested = await conn.fetchval("SELECT checkpoints_req FROM pg_stat_bgwriter")
        lsn = await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(requested), int(lsn)
    finally:
        await conn.close()


async def main() -> None:
    n, order = int(sys.argv[1]), sys.argv[2].split(",")
    url = CommonSettings().database_url
    try:
        for name in order:
            checkpoints, lsn = await configure(VARIANTS[name])
            cpu = postgres_cpu()
            started = time.perf_counter()
            figures = await lead_import.run_import(url, n, ImportFormat.CSV, 20_000)
            wall = time.perf_counter() - started
            cpu_after = postgres_cpu()
            checkpoints_after, lsn_after = await wal(url)
            say(
                f"{name:10s} import {figures.seconds:5.1f} s ({figures.rows_per_s:,.0f} rows/s), "
                f"WAL {(lsn_after - lsn) / 2**20:,.0f} MB, "
                f"{checkpoints_after - checkpoints} checkpoints requested, "
                f"Postgres CPU {cpu_after - cpu:.1f} s over {wall:.1f} s "
                f"({(cpu_after - cpu) / n * 1e6:.1f} µs per row), importer "
                f"{figures.cpu_us_per_row:.1f} µs per row"
            )
    finally:
        await configure({})


if __name__ == "__main__":
    asyncio.run(main())
