"""The funnel's two reads on one campaign of 1M leads (4 inserts: 4 parts), FINAL against
grouped by lead, under a per-query memory cap (max_memory_usage): grouping holds a hash of
the campaign's leads, FINAL streams. Median of 7 per query and cap.

    python grouped_memory.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid

from funnel_parts import OUTCOMES_FINAL_SQL, STEPS_FINAL_SQL

from fanout_cli.bench.report_queries import GENERATE_SQL
from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.main import open_clickhouse
from services.report_sink.schema import migrate

LEADS, PARTS = 1_000_000, 4
READS = (
    ("steps, FINAL", STEPS_FINAL_SQL),
    ("steps, grouped by lead", queries.FUNNEL_SQL),
    ("outcomes, FINAL", OUTCOMES_FINAL_SQL),
    ("outcomes, grouped by lead", queries.SEND_OUTCOMES_SQL),
)


def capped(sql: str, cap: int | None) -> str:
    return sql if cap is None else f"{sql.rstrip()}\nSETTINGS max_memory_usage = {cap}"


async def main() -> None:
    os.environ["FANOUT_HOME"] = tempfile.mkdtemp(prefix="grouped-memory-")
    writer, reader, analyst = open_clickhouse(Settings())
    try:
        await migrate(writer)
        account, campaign = uuid.uuid4(), uuid.uuid4()
        per_part = LEADS // PARTS
        for part in range(PARTS):  # the same campaign, other leads in each part
            sql = GENERATE_SQL.replace(
                "FROM numbers({leads:UInt64})", f"FROM numbers({part * per_part}, {per_part})"
            )
            await writer.command(sql, {"account": account, "campaign": campaign, "leads": 0})
        params = {"account": account, "campaign": campaign}
        for cap in (None, 40_000_000, 60_000_000, 100_000_000, 150_000_000):
            for name, sql in READS:
                label = f"cap {cap or 'none':>11}  {name:26s}"
                try:
                    times = []
                    for _ in range(7):
                        started = time.perf_counter()
                        rows = await reader.dicts(capped(sql, cap), params)
                        times.append((time.perf_counter() - started) * 1000)
                    assert rows[0]["sent"] == LEADS, rows
                    sys.stdout.write(f"{label} p50 {statistics.median(times):7.1f} ms\n")
                except Exception as exc:  # noqa: BLE001 - the cap's refusal is the figure
                    sys.stdout.write(f"{label} refused: {str(exc).splitlines()[0][:90]}\n")
    finally:
        for client in (writer, reader, analyst):
            client.close()


if __name__ == "__main__":
    asyncio.run(main())
