"""The funnel and the campaign summary's recompute, before (campaign_hourly's uniqExact lead
sets) and after (lead_steps read with FINAL), side by side on one chDB store.

CAMPAIGNS campaigns of LEADS leads each (about 2.4 events per lead: `fanout bench queries`'s
generator), each inserted in slices of SLICE leads (several parts per table, as a sink's
inserts leave them before merges), then ROUNDS rounds alternating the two forms of each
query on the first campaign. Prints p50 / p95 per form and checks both give the same numbers.

    python funnel_side_by_side.py [CAMPAIGNS] [ROUNDS]
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
from services.report_sink.summary import RECOMPUTE_SQL
from shared.clickhouse import AsyncClickHouse, connect_embedded

LEADS, SLICE = 1_000_000, 100_000
STEPS = ("sent", "failed", "suppressed", "cancelled", "excluded", "delivered",
         "bounced", "complained", "opened", "clicked", "unsubscribed")  # fmt: skip
HEADLINES = queries.HEADLINES
# the queries as they were before lead_steps (a2ec169^)
OLD_FUNNEL = (
    "SELECT "
    + ", ".join(f"uniqExactMergeIf(leads, type = '{s}') AS {s}" for s in STEPS)
    + ", uniqExactMergeIf(leads, type = 'bounced' AND bounce_type = 'hard') AS bounced_hard"
    + ", uniqExactMergeIf(leads, type = 'bounced' AND bounce_type = 'soft') AS bounced_soft"
    + " FROM campaign_hourly WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}"
)
OLD_RECOMPUTE = (
    "INSERT INTO campaign_summary (account_id, campaign_id, first_event_hour, last_event_hour, "
    + ", ".join(HEADLINES)
    + ", computed_at) SELECT account_id, campaign_id, min(hour), max(hour), "
    + ", ".join(f"uniqExactMergeIf(leads, type = '{h}')" for h in HEADLINES)
    + ", now64(3, 'UTC') FROM campaign_hourly WHERE account_id = {account:UUID}"
    " AND campaign_id IN {campaigns:Array(UUID)} GROUP BY account_id, campaign_id"
)
SLICE_SQL = GENERATE_SQL.replace(
    "FROM numbers({leads:UInt64})", "FROM numbers({start:UInt64}, {leads:UInt64})"
)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, round(len(values) * 0.95) - 1)]
    return f"p50 {statistics.median(values) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


async def timed(call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


def say(*parts: object) -> None:
    """One line of the script's report on standard output."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")


async def main(campaigns: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="lead-steps-"))
    writer = AsyncClickHouse(connect_embedded(folder))
    await migrate(writer)
    account = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(campaigns)]
    started = time.perf_counter()
    for campaign in ids:
        for start in range(0, LEADS, SLICE):
            params = {"account": account, "campaign": campaign, "start": start, "leads": SLICE}
            await writer.command(SLICE_SQL, params)
    say(f"generated {campaigns} x {LEADS:,} leads in {time.perf_counter() - started:.0f} s")
    reader = AsyncClickHouse(connect_embedded(folder))
    parts = await reader.rows(
        "SELECT table, count(), sum(rows) FROM system.parts WHERE active "
        "AND table IN ('email_events', 'campaign_hourly', 'lead_steps') "
        "GROUP BY table ORDER BY table"
    )
    say("active parts, rows:", parts)
    p = {"account": account, "campaign": ids[0]}
    old = (await reader.dicts(OLD_FUNNEL, p))[0]
    new = (await reader.dicts(queries.FUNNEL_SQL, p))[0]
    assert old == new, (old, new)
    say("funnel steps (both forms):", new)

    async def old_funnel() -> None:  # the endpoint's three queries as they were
        await reader.dicts(OLD_FUNNEL, p)
        excluded = {"type": "excluded", "dimension": "reason"}
        await reader.dicts(queries.BREAKDOWN_SQL, {**p, **excluded})
        await queries.send_outcomes(reader, account, ids[0])

    forms = {
        "funnel steps, campaign_hourly (before)": lambda: reader.dicts(OLD_FUNNEL, p),
        "funnel steps, lead_steps (after)": lambda: reader.dicts(queries.FUNNEL_SQL, p),
        "whole funnel endpoint query set (before)": old_funnel,
        "whole funnel endpoint query set (after)": lambda: queries.funnel(reader, *p.values()),
        "summary recompute, campaign_hourly (before)": lambda: writer.command(
            OLD_RECOMPUTE, {"account": account, "campaigns": ids[:1]}
        ),
        "summary recompute, lead_steps (after)": lambda: writer.command(
            RECOMPUTE_SQL, {"account": account, "campaigns": ids[:1]}
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(rounds):
        for name, call in forms.items():
            times[name].append(await timed(call))
    for name, values in times.items():
        say(f"{name:45s} {ms(values)}")


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 4,
            int(sys.argv[2]) if len(sys.argv) > 2 else 30,
        )
    )
