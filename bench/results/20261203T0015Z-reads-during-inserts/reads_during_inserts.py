"""Report queries while the sink's writer inserts, with the writer's threads at OS priority
0 (as shipped) or 19 (ClickHouse's `os_thread_priority`: niced below the readers).

A fresh chDB store with one campaign of 1M leads (about 2.4M events, `fanout bench
queries`'s generator), then for SECONDS: a writer inserting RATE events a second into a
second campaign (one INSERT ... SELECT per second, through every view, like the sink's
1-s batches; JSON parsing left out), and a reader on its own client running the reports
API's queries on the first campaign back to back. Prints p50 / p95 per query.

    python reads_during_inserts.py PRIORITY [SECONDS] [RATE]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from fanout_cli.bench.report_queries import GENERATE_SQL
from services.report_sink import queries
from services.report_sink.schema import migrate
from shared.clickhouse import AsyncClickHouse, connect_embedded

EVENTS_PER_LEAD = 2.32  # what the generator makes
SLICE_SQL = GENERATE_SQL.replace(
    "FROM numbers({leads:UInt64})", "FROM numbers({start:UInt64}, {leads:UInt64})"
)


def say(*parts: object) -> None:
    """One line of the script's report on standard output."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")


async def main(priority: int, seconds: float, rate: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="reads-during-inserts-"))
    setup = AsyncClickHouse(connect_embedded(folder))
    await migrate(setup)
    account, read_campaign, live_campaign = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for start in range(0, 1_000_000, 100_000):
        params = {"account": account, "campaign": read_campaign, "start": start, "leads": 100_000}
        await setup.command(SLICE_SQL, params)
    writer = AsyncClickHouse(connect_embedded(folder, settings={"os_thread_priority": priority}))
    reader = AsyncClickHouse(connect_embedded(folder))
    await asyncio.sleep(5)  # let the set-up's merges start
    stop = time.perf_counter() + seconds
    per_second = int(rate / EVENTS_PER_LEAD)
    inserted = 0

    async def write() -> None:
        nonlocal inserted
        start, tick = 0, time.perf_counter()
        while time.perf_counter() < stop:
            params = {"account": account, "campaign": live_campaign, "start": start,
                      "leads": per_second}  # fmt: skip
            await writer.command(SLICE_SQL, params)
            start += per_second
            inserted += per_second
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - time.perf_counter()))

    reads = {
        "funnel": lambda: queries.funnel(reader, account, read_campaign),
        "recipients page": lambda: queries.recipients(
            reader, account, read_campaign, "", queries.NIL, 100
        ),
        "bounces": lambda: queries.bounces(reader, account, read_campaign),
        "timeline": lambda: queries.timeline(reader, account, read_campaign),
    }
    times: dict[str, list[float]] = {name: [] for name in reads}

    async def read() -> None:
        while time.perf_counter() < stop:
            for name, call in reads.items():
                started = time.perf_counter()
                await call()
                times[name].append(time.perf_counter() - started)

    await asyncio.gather(write(), read())
    behind = stop - time.perf_counter()
    say(f"os_thread_priority={priority}: {inserted:,} leads inserted "
          f"({inserted * EVENTS_PER_LEAD / seconds:,.0f} events/s) in {seconds:.0f} s "
          f"(+{-behind:.1f} s to finish)")  # fmt: skip
    for name, values in times.items():
        values.sort()
        p95 = values[max(0, round(len(values) * 0.95) - 1)]
        say(f"  {name:16s} n={len(values):4d} p50 {statistics.median(values) * 1000:7.1f} ms"
              f"  p95 {p95 * 1000:7.1f} ms")  # fmt: skip


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(
        main(
            int(args[0]),
            float(args[1]) if len(args) > 1 else 60.0,
            int(args[2]) if len(args) > 2 else 15_000,
        )  # fmt: skip
    )
