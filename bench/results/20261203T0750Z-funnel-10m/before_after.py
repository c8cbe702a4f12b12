"""The funnel before (steps and outcomes read with FINAL, every client at no query priority)
and after (grouped by lead; the reader at priority 1, the summary's recomputes at 2), side
by side on one 10M-event store built as in `funnel_parts.py`.

Each round samples the whole funnel (three queries, as the endpoint runs them) on random
campaigns, before then after, once on the store alone and once while another client runs
the campaign summary's recompute of the account's 1,000 campaigns back to back (the worker
spends at most 5 % of its time on it; back to back is its worst case, after a large
ingest). Every sampled campaign's counts are compared between the two sides.

    python before_after.py [EVENTS] [EVENTS_PER_INSERT] [SAMPLES] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from funnel_parts import (
    ACCOUNT,
    CAMPAIGNS,
    PARTS_SQL,
    campaign,
    fill_store,
    funnel_with_final,
    merges_done,
)

from services.report_sink import queries
from services.report_sink.config import Settings
from services.report_sink.main import open_clickhouse
from services.report_sink.schema import migrate
from services.report_sink.summary import RECOMPUTE_SQL
from shared.clickhouse import AsyncClickHouse, connect
from shared.settings import CommonSettings

SIDES = {"before": (0, 0), "after": (1, 2)}  # reader priority, summary priority


# a campaign's matched leads as the reports API passes them: 10,000 at 10M events (grouped)
LEADS = [0]


async def funnel(side: str, reader: AsyncClickHouse, chosen: Any) -> Any:
    if side == "before":
        return await funnel_with_final(reader, {"account": ACCOUNT, "campaign": chosen})
    return await queries.funnel(reader, ACCOUNT, chosen, LEADS[0])


async def run_side(side: str, contended: bool, samples: int, rng: random.Random) -> list[float]:
    """ms per whole funnel on `samples` random campaigns, with or without the recomputes."""
    common = CommonSettings()
    reader_priority, summary_priority = SIDES[side]
    reader = AsyncClickHouse(connect(common, settings={"priority": reader_priority}))
    summary = AsyncClickHouse(connect(common, settings={"priority": summary_priority}))
    params = {"account": ACCOUNT, "campaigns": [campaign(i) for i in range(CAMPAIGNS)]}
    stop = asyncio.Event()

    async def recompute() -> None:
        while not stop.is_set():
            await summary.command(RECOMPUTE_SQL, params)

    task = asyncio.create_task(recompute()) if contended else None
    times: list[float] = []
    try:
        await asyncio.sleep(0.5)
        for _ in range(samples):
            chosen = campaign(rng.randrange(CAMPAIGNS))
            started = time.perf_counter()
            await funnel(side, reader, chosen)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        if task is not None:
            await task
        reader.close()
        summary.close()
    return times


def line(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"  {label:40s} p50 {statistics.median(values):7.1f}  p95 {p95:7.1f}  "
        f"max {ordered[-1]:7.1f} ms"
    )


async def main(events: int, per_insert: int, samples: int, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="funnel-ba-"))
    os.environ["FANOUT_HOME"] = str(folder)
    writer, reader, analyst = open_clickhouse(Settings())
    rng = random.Random(11)
    out = sys.stdout
    try:
        await migrate(writer)
        LEADS[0] = events // CAMPAIGNS
        await fill_store(writer, events, per_insert)
        await merges_done(reader)
        for index in rng.sample(range(CAMPAIGNS), 20):  # the two sides count the same
            before = await funnel("before", reader, campaign(index))
            after = await funnel("after", reader, campaign(index))
            assert before == after and after.sent == events // CAMPAIGNS, (before, after)
        out.write(f"{events:,} sends, parts: {await reader.rows(PARTS_SQL)}\n")
        out.write("20 campaigns: the same counts on both sides\n")
        for contended in (False, True):
            label = "recomputes back to back" if contended else "the store alone"
            every: dict[str, list[float]] = {"before": [], "after": []}
            for round_no in range(1, rounds + 1):
                for side in SIDES:
                    times = await run_side(side, contended, samples, rng)
                    every[side] += times
                    out.write(line(f"{label}, round {round_no}, {side}", times) + "\n")
                    out.flush()
            for side, times in every.items():
                out.write(line(f"{label}, all rounds, {side}", times) + "\n")
    finally:
        for client in (writer, reader, analyst):
            client.close()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [10_000_000, 50_000, 60, 3][len(args) :])))
