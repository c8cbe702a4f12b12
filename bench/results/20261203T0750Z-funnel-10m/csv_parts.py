"""The recipients CSV export of one small campaign on the 10M store of `funnel_parts.py`:
`lead_status FINAL` as the export reads it, against the winning rows picked by grouping
(`argMax` of the row by version), on the parts the merges leave and on one part.

    python csv_parts.py [EVENTS] [EVENTS_PER_INSERT] [SAMPLES]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

from funnel_parts import (
    ACCOUNT,
    CAMPAIGNS,
    PARTS_SQL,
    campaign,
    fill_store,
    merges_done,
)

from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.main import open_clickhouse
from services.report_sink.schema import migrate
from shared.clickhouse import AsyncClickHouse

GROUPED_CSV_SQL = """
SELECT lead_id, row.1 AS email, row.2 AS status, row.3 AS bounce_type, row.4 AS reason,
       row.5 AS status_at
FROM (
    SELECT lead_id, argMax((email, status, bounce_type, reason, status_at), version) AS row
    FROM lead_status
    WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
      AND lead_id > {after:UUID}
    GROUP BY lead_id
)
WHERE {status:String} = '' OR row.2 = {status:String}
ORDER BY lead_id
LIMIT {limit:UInt32}
SETTINGS date_time_output_format = 'iso'
"""


async def timed_csv(reader: AsyncClickHouse, sql: str, chosen: Any) -> tuple[float, int]:
    params = {"account": ACCOUNT, "campaign": chosen, "status": "", "after": queries.NIL}
    started = time.perf_counter()
    data = await reader.raw(sql, {**params, "limit": 50_000}, "CSV")
    return (time.perf_counter() - started) * 1000, data.count(b"\n")


async def phase(label: str, reader: AsyncClickHouse, samples: int, rng: random.Random) -> None:
    times: dict[str, list[float]] = {"FINAL (the export)": [], "grouped, argMax": []}
    for _ in range(samples):
        chosen = campaign(rng.randrange(CAMPAIGNS))
        final_ms, final_rows = await timed_csv(reader, queries.RECIPIENTS_CSV_SQL, chosen)
        grouped_ms, grouped_rows = await timed_csv(reader, GROUPED_CSV_SQL, chosen)
        assert final_rows == grouped_rows > 0, (final_rows, grouped_rows)
        times["FINAL (the export)"].append(final_ms)
        times["grouped, argMax"].append(grouped_ms)
    out = [f"{label}: parts {await reader.rows(PARTS_SQL)}"]
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        out.append(f"  {name:22s} p50 {statistics.median(values):7.1f}  p95 {p95:7.1f} ms")
    sys.stdout.write("\n".join(out) + "\n")


async def main(events: int, per_insert: int, samples: int) -> None:
    os.environ["FANOUT_HOME"] = tempfile.mkdtemp(prefix="csv-10m-")
    writer, reader, analyst = open_clickhouse(Settings())
    rng = random.Random(5)
    try:
        await migrate(writer)
        await fill_store(writer, events, per_insert)
        await merges_done(reader)
        await phase("merges done", reader, samples, rng)
        await writer.command("OPTIMIZE TABLE lead_status FINAL")
        await phase("one part", reader, samples, rng)
    finally:
        for client in (writer, reader, analyst):
            client.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [10_000_000, 50_000, 60][len(args) :])))
