"""The funnel of one small campaign in a 10M-event store, while the store's parts are still
being merged and once they are: where its tail comes from.

The full run reads the reports at 10M events right after its last slice: 1,000 campaigns
of about 10,000 emails each (100 users x 10 campaigns), `sent` events and 2 % `bounced`,
inserted by the sink in batches that each hold events of every campaign, so every part
of `lead_steps`, `send_outcomes` and `email_events` holds rows of every campaign and a
FINAL read of one campaign merges a few granules of each part.

This builds the same shape in a fresh chDB folder opened as report_sink opens it (writer,
reader; the sink's engine settings), INSERTS blocks of EVENTS_PER_INSERT events (every
campaign in each), then times the funnel endpoint's three queries on random campaigns
SAMPLES times at once, and again after the engine's merges have settled, printing p50 /
p95 / max per query and the active parts per table at each phase.

    python funnel_parts.py [EVENTS] [EVENTS_PER_INSERT] [SAMPLES]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from services.report_sink import queries
from services.report_sink.api.models import FunnelCounts
from services.report_sink.config import Settings
from services.report_sink.main import open_clickhouse
from services.report_sink.schema import migrate
from services.report_sink.steps import STEP_BITS, count_steps
from services.report_sink.summary import RECOMPUTE_SQL
from shared.clickhouse import AsyncClickHouse, connect
from shared.contracts.events import ExclusionReason
from shared.settings import CommonSettings

CAMPAIGNS = 1000
ACCOUNT = uuid.UUID("00000000-0000-4000-8000-0000000000aa")

# event n: campaign n % CAMPAIGNS, lead n (one `sent` each), one in 50 also `bounced`
GENERATE_SQL = """
INSERT INTO email_events (event_id, account_id, campaign_id, lead_id, email, type, provider,
                          provider_message_id, reason, bounce_type, occurred_at)
SELECT generateUUIDv4(), {account:UUID},
       toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(n % 1000 + 1), 12, '0'))),
       reinterpretAsUUID(reinterpretAsFixedString(cityHash64(n, 1))
                         || reinterpretAsFixedString(cityHash64(n, 2))),
       concat('lead', toString(n), '@d', toString(n % 100), '.example.com'), t, 'simulator',
       '', if(t = 'bounced', '550 5.1.1 user unknown', ''), if(t = 'bounced', 'hard', ''),
       toDateTime64('2026-11-23 00:00:00', 3, 'UTC') + toIntervalMillisecond(n)
FROM (
    SELECT number AS n, if(cityHash64(n, 3) % 50 = 0, ['sent', 'bounced'], ['sent']) AS types
    FROM numbers({first:UInt64}, {count:UInt64})
)
ARRAY JOIN types AS t
"""

PARTS_SQL = """
SELECT table, count() AS parts, sum(rows) AS rows
FROM system.parts
WHERE active AND database = currentDatabase()
  AND table IN ('email_events', 'lead_steps', 'send_outcomes', 'lead_status')
GROUP BY table ORDER BY table
"""


async def fill_store(writer: AsyncClickHouse, events: int, per_insert: int) -> None:
    """`events` sends (and their bounces) inserted `per_insert` at a time."""
    for first in range(0, events, per_insert):
        count = min(per_insert, events - first)
        await writer.command(GENERATE_SQL, {"account": ACCOUNT, "first": first, "count": count})


async def merges_done(reader: AsyncClickHouse) -> None:
    """Return once the engine runs no merge."""
    while (await reader.rows("SELECT count() FROM system.merges"))[0][0]:
        await asyncio.sleep(2)


def campaign(index: int) -> uuid.UUID:
    """The id GENERATE_SQL gives campaign `index` (0-based)."""
    return uuid.UUID(f"00000000-0000-4000-8000-{index + 1:012d}")


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


# the funnel's two FINAL reads as they were when this ran (before 'reports: the funnel's
# lead_steps and send_outcomes reads grouped by lead')
STEPS_FINAL_SQL = f"""
SELECT {count_steps(STEP_BITS)}
FROM lead_steps FINAL
WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
"""
OUTCOMES_FINAL_SQL = """
SELECT countIf(status = 'sent') AS sent, countIf(status = 'failed') AS failed,
       countIf(status = 'suppressed') AS suppressed, countIf(status = 'cancelled') AS cancelled
FROM send_outcomes FINAL
WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
"""


async def funnel_with_final(reader: AsyncClickHouse, params: dict[str, Any]) -> FunnelCounts:
    """`queries.funnel` as it was: the steps and the outcomes read with FINAL."""
    steps = (await reader.dicts(STEPS_FINAL_SQL, params))[0]
    excluded = {**params, "type": "excluded", "dimension": "reason"}
    reasons = {r["value"]: r["leads"] for r in await reader.dicts(queries.BREAKDOWN_SQL, excluded)}
    per_reason = {f"excluded_{r.value}": reasons.get(r.value, 0) for r in ExclusionReason}
    outcomes = (await reader.dicts(OUTCOMES_FINAL_SQL, params))[0]
    return FunnelCounts.model_validate({**steps, **per_reason, **outcomes})


# the same counts without FINAL: the lead's rows of every part combined by GROUP BY, which
# reads the parts in parallel where FINAL merges them in key order
STEPS_GROUPED_SQL = f"""
SELECT {count_steps(STEP_BITS)}
FROM (
    SELECT groupBitOr(steps) AS steps FROM lead_steps
    WHERE account_id = {{account:UUID}} AND campaign_id = {{campaign:UUID}}
    GROUP BY lead_id
)
"""
# the highest version per lead is the row FINAL keeps; equal versions have the same status
OUTCOMES_GROUPED_SQL = """
SELECT countIf(status = 'sent') AS sent, countIf(status = 'failed') AS failed,
       countIf(status = 'suppressed') AS suppressed, countIf(status = 'cancelled') AS cancelled
FROM (
    SELECT argMax(status, version) AS status FROM send_outcomes
    WHERE account_id = {account:UUID} AND campaign_id = {campaign:UUID}
    GROUP BY lead_id
)
"""


def funnel_calls(
    reader: AsyncClickHouse, params: dict[str, Any]
) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """The funnel endpoint's three queries of one campaign, and the endpoint's whole call."""
    excluded = {**params, "type": "excluded", "dimension": "reason"}
    return [
        ("steps (lead_steps FINAL)", lambda: reader.dicts(STEPS_FINAL_SQL, params)),
        ("excluded reasons (email_events)", lambda: reader.dicts(queries.BREAKDOWN_SQL, excluded)),
        ("outcomes (send_outcomes FINAL)", lambda: reader.dicts(OUTCOMES_FINAL_SQL, params)),
        ("whole funnel", lambda: funnel_with_final(reader, params)),
        ("steps, GROUP BY lead", lambda: reader.dicts(STEPS_GROUPED_SQL, params)),
        ("outcomes, GROUP BY lead", lambda: reader.dicts(OUTCOMES_GROUPED_SQL, params)),
    ]


async def sample(
    reader: AsyncClickHouse, samples: int, rng: random.Random
) -> dict[str, list[float]]:
    """Per query of the funnel endpoint (and the endpoint's whole call), ms per sample."""
    times: dict[str, list[float]] = {}
    for _ in range(samples):
        params = {"account": ACCOUNT, "campaign": campaign(rng.randrange(CAMPAIGNS))}
        for name, call in funnel_calls(reader, params):
            times.setdefault(name, []).append(await timed(call))
    return times


async def during_recomputes(
    reader_priority: int, summary_priority: int, samples: int, rng: random.Random
) -> dict[str, list[float]]:
    """The funnel sampled while another client recomputes the 1,000 campaigns' summary
    (the summary worker's statement, all of the account's campaigns at once) back to back;
    `priority` set on each client (0: none; a lower number is the higher priority)."""
    common = CommonSettings()
    reader = AsyncClickHouse(connect(common, settings={"priority": reader_priority}))
    summary = AsyncClickHouse(connect(common, settings={"priority": summary_priority}))
    campaigns = [campaign(i) for i in range(CAMPAIGNS)]
    stop = asyncio.Event()
    recomputes: list[float] = []

    params = {"account": ACCOUNT, "campaigns": campaigns}

    async def recompute() -> None:
        while not stop.is_set():
            recomputes.append(await timed(lambda: summary.command(RECOMPUTE_SQL, params)))

    task = asyncio.create_task(recompute())
    try:
        await asyncio.sleep(0.5)
        times = await sample(reader, samples, rng)
    finally:
        stop.set()
        await task
        reader.close()
        summary.close()
    times["(the recompute itself)"] = recomputes
    return times


def report(phase: str, times: dict[str, list[float]], parts: list[tuple[Any, ...]]) -> None:
    out = [f"{phase}: parts {', '.join(f'{t} {p} ({r:,} rows)' for t, p, r in parts)}"]
    for name, values in times.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        out.append(
            f"  {name:34s} p50 {statistics.median(values):7.1f}  p95 {p95:7.1f}  "
            f"max {ordered[-1]:7.1f} ms"
        )
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


async def main(events: int, per_insert: int, samples: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="funnel-10m-"))
    os.environ["FANOUT_HOME"] = str(folder)
    writer, reader, analyst = open_clickhouse(Settings())
    rng = random.Random(7)
    try:
        await migrate(writer)
        started = time.perf_counter()
        await fill_store(writer, events, per_insert)
        sys.stdout.write(f"inserted {events:,} sends in {time.perf_counter() - started:.1f} s\n")
        counts = await funnel_with_final(reader, {"account": ACCOUNT, "campaign": campaign(0)})
        assert counts.sent == events // CAMPAIGNS and counts.bounced > 0, counts  # real rows read
        sys.stdout.write(f"campaign 0: {counts.sent:,} sent, {counts.bounced:,} bounced\n")
        report(
            "right after the last insert",
            await sample(reader, samples, rng),
            await reader.rows(PARTS_SQL),
        )
        await merges_done(reader)
        await asyncio.sleep(5)
        report("merges settled", await sample(reader, samples, rng), await reader.rows(PARTS_SQL))
        for reader_priority, summary_priority in ((0, 0), (1, 2), (0, 0), (1, 2)):
            times = await during_recomputes(reader_priority, summary_priority, samples, rng)
            report(
                f"merges settled, summary recomputes back to back, priority reader "
                f"{reader_priority} / summary {summary_priority}",
                times,
                await reader.rows(PARTS_SQL),
            )
        await writer.command("OPTIMIZE TABLE lead_steps FINAL")
        await writer.command("OPTIMIZE TABLE send_outcomes FINAL")
        await writer.command("OPTIMIZE TABLE email_events FINAL")
        report(
            "one part each (OPTIMIZE FINAL)",
            await sample(reader, samples, rng),
            await reader.rows(PARTS_SQL),
        )
    finally:
        for client in (writer, reader, analyst):
            client.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [10_000_000, 50_000, 100][len(args) :])))
