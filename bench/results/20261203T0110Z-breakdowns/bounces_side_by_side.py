"""The bounces report before (four queries: the total and one per dimension) and after (one
pass, `queries.breakdown`), side by side on one chDB store.

CAMPAIGNS campaigns of 1M leads (`fanout bench queries`'s generator: 5 % of the leads
bounce), then ROUNDS rounds alternating the two forms on the first campaign; prints p50 /
p95 and checks both give the same answer.

    python bounces_side_by_side.py [CAMPAIGNS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from fanout_cli.bench.report_queries import GENERATE_SQL
from services.report_sink import queries
from services.report_sink.schema import migrate
from shared.clickhouse import AsyncClickHouse, connect_embedded

# the queries as they were before (d90c9e7)
OLD_BREAKDOWN = """
SELECT {dimension:Identifier} AS value, uniqExact(lead_id) AS leads
FROM email_events
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID} AND type = {type:String}
GROUP BY value
ORDER BY leads DESC, value
LIMIT 50
"""
OLD_TOTAL = """
SELECT uniqExact(lead_id) FROM email_events
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID} AND type = {type:String}
"""


def say(*parts: object) -> None:
    """One line of the report on standard output."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")


async def old_bounces(ch: AsyncClickHouse, params: dict[str, Any]) -> Any:
    total = int((await ch.rows(OLD_TOTAL, params))[0][0])
    out = {}
    for dimension in queries.BOUNCE_DIMENSIONS:
        rows = await ch.rows(OLD_BREAKDOWN, {**params, "dimension": dimension})
        out[dimension] = [(value, leads) for value, leads in rows]
    return total, out


async def main(campaigns: int, rounds: int) -> None:
    ch = AsyncClickHouse(connect_embedded(Path(tempfile.mkdtemp(prefix="bounces-"))))
    await migrate(ch)
    account = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(campaigns)]
    for campaign in ids:
        await ch.command(GENERATE_SQL, {"account": account, "campaign": campaign, "leads": 10**6})
    params = {"account": account, "campaign": ids[0], "type": "bounced"}
    total, breakdowns = await queries.bounces(ch, account, ids[0])
    new = (total, {d: [(b.value, b.leads) for b in rows] for d, rows in breakdowns.items()})
    assert new == await old_bounces(ch, params)
    say("bounced leads:", total)
    times: dict[str, list[float]] = {"before (4 queries)": [], "after (one pass)": []}
    for _ in range(rounds):
        for name, call in (
            ("before (4 queries)", lambda: old_bounces(ch, params)),
            ("after (one pass)", lambda: queries.bounces(ch, account, ids[0])),
        ):
            started = time.perf_counter()
            await call()
            times[name].append(time.perf_counter() - started)
    for name, values in times.items():
        values.sort()
        p95 = values[max(0, round(len(values) * 0.95) - 1)]
        say(f"{name:20s} p50 {statistics.median(values) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(args[0] if args else 4, args[1] if len(args) > 1 else 30))
