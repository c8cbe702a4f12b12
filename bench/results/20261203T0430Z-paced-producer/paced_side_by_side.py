"""Report latencies while the sink ingests 15,000 events/s: the paced producer in the
benchmark's own event loop (before) against a process of its own (after), alternating.

    python paced_side_by_side.py ROUNDS EVENTS_PER_RUN [FILL]

On the running stack (`fanout stack up`): an account like `fanout bench`'s ingest
account (1,000 campaigns) gets FILL events at full speed first (default 1,000,000), then
each round produces EVENTS_PER_RUN events paced at 15,000/s once each way while the
reports API's CSV export and funnel are read as the benchmark reads them. "in-loop"
counts every read made while the producer ran (the benchmark before the change);
"process" counts the reads that began between the producer's first send and its last
acknowledgement. Both wait until the sink shows every event, then 5 s, before the next.
Also printed: this process's CPU seconds (user + system) over the run, and its children's.
"""

from __future__ import annotations

import asyncio
import math
import resource
import sys

import asyncpg

from fanout_cli.bench import ingest
from fanout_cli.stack.secrets import stack_secret
from shared.settings import CommonSettings


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def _one(
    mode: str,
    common: CommonSettings,
    bench: ingest.BenchAccount,
    reports: ingest.Reports,
    count: int,
    seed: int,
) -> None:
    visible = await reports.count(bench.account_id)
    own0, kids0 = _cpu()
    if mode == "in-loop":
        work = ingest._produce(common, bench, count, seed, rate=ingest.PACED_RATE)
        done, reads = await ingest._with_reads(reports, bench, work)
        figures = ingest.reads_within(reads, -math.inf, math.inf)
    else:
        thread = asyncio.to_thread(
            ingest.produce_in_parallel, common, bench, count, seed, 1, ingest.PACED_RATE
        )
        done, reads = await ingest._with_reads(reports, bench, thread)
        figures = ingest.reads_within(reads, done.began, done.ended)
    own1, kids1 = _cpu()
    await ingest._until_visible(reports, bench.account_id, visible, done.events)
    parts = [f"{mode:8} {done.rate:8,.0f} events/s sent"]
    for name, lat in figures.items():
        parts.append(f"{name} p50 {lat.p50_ms:6.1f} p95 {lat.p95_ms:6.1f} ms (n={lat.count})")
    parts.append(f"cpu own {own1 - own0:4.1f} s children {kids1 - kids0:4.1f} s")
    sys.stdout.write(" | ".join(parts) + "\n")
    sys.stdout.flush()
    await asyncio.sleep(5)


async def main(rounds: int, count: int, fill: int) -> None:
    common = CommonSettings()
    bench = await ingest.create_bench_account(common, fill)
    account = bench.account_id
    reports = ingest.Reports(bench.api_key, stack_secret(common, "admin_token"))
    try:
        if fill:
            filled = await asyncio.to_thread(ingest.produce_in_parallel, common, bench, fill, 1, 2)
            await ingest._until_visible(reports, account, 0, filled.events)
            sys.stdout.write(f"filled {filled.events:,} events\n")
        seed = 100
        for _ in range(rounds):
            for mode in ("in-loop", "process"):
                seed += 1
                await _one(mode, common, bench, reports, count, seed)
    finally:
        await reports.aclose()
        conn = await asyncpg.connect(common.database_url)
        try:
            await conn.execute("DELETE FROM accounts WHERE id = $1", account)
        finally:
            await conn.close()


if __name__ == "__main__":
    fill = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), fill))
