"""The benchmark's 1M import, with its leads generated inline (as `fanout bench` did) or
read from a file written beforehand, in a scratch database beside the stack's.

    python import_source.py N inline,file,... [CHUNK_ROWS] [tuned]

`inline`: the realistic leads of `fanout bench` (fanout_cli/demo/leads.py, seed 1),
generated as JSON Lines in the importing process while it imports them, as
`prepare_account` did. `file`: the same bytes written to a file first (not timed), then
streamed from it in 64 KiB reads, as an upload's body arrives. Printed: the import's time,
the importing process's CPU (`tuned`: with the services' garbage-collector settings,
`shared.service.serve.tune_gc`), and the CPU of every Postgres process over it (live ones from
/proc, ended backends from the postmaster's children's counters).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from proc_figures import postgres_cpu, say

from fanout_cli.bench.scratch import scratch_database
from fanout_cli.demo.leads import jsonl_chunks
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import create_account
from shared.service.serve import tune_gc
from shared.settings import CommonSettings


async def inline(n: int) -> AsyncIterator[bytes]:
    for chunk in jsonl_chunks(n, seed=1, chunk_rows=5000):
        yield chunk


async def from_file(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            yield chunk


async def run(n: int, mode: str, path: Path, chunk_rows: int) -> None:
    async with scratch_database(CommonSettings().database_url) as scratch:
        account, _ = await create_account(scratch.pool, "import-source")
        source = inline(n) if mode == "inline" else from_file(path)
        pg, cpu, started = postgres_cpu(), time.process_time(), time.perf_counter()
        report = await import_leads(
            scratch.pool, account, source, ImportFormat.JSONL, chunk_rows=chunk_rows
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        pg = postgres_cpu() - pg
    say(f"{mode:7s} {report.accepted:,} leads in {wall:5.1f} s "
        f"({report.accepted / wall:,.0f} rows/s); importing process "
        f"{cpu / n * 1e6:.1f} µs of CPU per row, Postgres {pg / n * 1e6:.1f}")  # fmt: skip


async def main() -> None:
    n, order = int(sys.argv[1]), sys.argv[2].split(",")
    chunk_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 20_000
    if sys.argv[4:] == ["tuned"]:
        tune_gc()  # the services' collector settings (campaign_api's, where the API imports)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.jsonl"
        with path.open("wb") as f:
            for chunk in jsonl_chunks(n, seed=1, chunk_rows=5000):
                f.write(chunk)
        for mode in order:
            await run(n, mode, path, chunk_rows)


if __name__ == "__main__":
    asyncio.run(main())
