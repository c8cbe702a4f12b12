"""Where the time goes while the sink ingests 15,000 events/s: reads against CPU by thread.

    python paced_anatomy.py FILL PACED ROUNDS [OUT.csv] [NICE]

On the running stack (`fanout stack up`): a new account like `fanout bench`'s ingest
account gets FILL events at full speed (report_sink running, as a burst), then ROUNDS
paced parts of PACED events at 15,000 events/s, the first straight after the burst (as
`fanout bench` does), each next one after the previous was visible and 5 s more. During
each paced part the reports are read as the benchmark reads them (CSV export and funnel),
and every second the CPU of report_sink's threads (by thread name: MergeMutate are the
engine's merges, ThreadPool its query and insert pipelines, python the service's own),
of the Kafka broker and of the producer is sampled from /proc. Prints per round the
reads' p50 / p95 and the CPU shares; OUT.csv gets the per-second samples. With NICE
(a number), report_sink's merge threads (MergeMutate) get that nice value first (0 sets
them back), by `renice` from outside: the experiment before building it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import subprocess
import sys
import time
from collections import defaultdict

import asyncpg

from fanout_cli.bench import ingest
from fanout_cli.stack.secrets import stack_secret
from shared.settings import CommonSettings

TICK = os.sysconf("SC_CLK_TCK")


def _pid(pattern: str) -> int:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def _threads(pid: int) -> dict[str, float]:
    """CPU seconds so far of `pid`'s threads, summed by thread name."""
    by_name: dict[str, float] = defaultdict(float)
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        by_name[name] += (int(fields[11]) + int(fields[12])) / TICK
    return by_name


def _process(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK


def _producers() -> float:
    total = 0.0
    out = subprocess.run(["pgrep", "-f", "multiprocessing.spawn"], capture_output=True, text=True)
    for pid in out.stdout.split():
        with contextlib.suppress(OSError):
            total += _process(int(pid))
    return total


def renice_merges(nice: int) -> list[int]:
    """Give report_sink's MergeMutate threads the nice value `nice`; their thread ids."""
    pid = _pid("services.report_sink")
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().startswith("MergeMutate"):
                os.setpriority(os.PRIO_PROCESS, int(tid), nice)
                tids.append(int(tid))
    return tids


class Sampler:
    def __init__(self) -> None:
        self.sink, self.kafka = _pid("services.report_sink"), _pid("kafka.Kafka")
        self.rows: list[dict[str, float]] = []

    def snapshot(self) -> dict[str, float]:
        threads = _threads(self.sink)
        merge = sum(v for k, v in threads.items() if k.startswith("MergeMutate"))
        pool = threads.get("ThreadPool", 0.0)
        python = threads.get("python", 0.0)
        return {
            "t": time.time(),
            "merge": merge,
            "pipeline": pool,
            "python": python,
            "sink_other": sum(threads.values()) - merge - pool - python,
            "kafka": _process(self.kafka),
            "producer": _producers(),
        }

    async def run(self, stop: asyncio.Event) -> None:
        last = self.snapshot()
        while not stop.is_set():
            await asyncio.sleep(1.0)
            now = self.snapshot()
            row = {k: now[k] - last[k] for k in now if k != "t"}
            row["t"] = now["t"]
            self.rows.append(row)
            last = now


async def main(fill: int, paced: int, rounds: int, out: str | None) -> None:
    common = CommonSettings()
    bench = await ingest.create_bench_account(common, fill + rounds * paced)
    account = bench.account_id
    reports = ingest.Reports(bench.api_key, stack_secret(common, "admin_token"))
    sampler = Sampler()
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    all_reads: list[tuple[int, str, float, float]] = []
    try:
        filled = await asyncio.to_thread(ingest.produce_in_parallel, common, bench, fill, 1, 2)
        await ingest._until_visible(reports, account, 0, filled.events)
        visible = filled.events
        sys.stdout.write(f"filled {filled.events:,} events at {filled.rate:,.0f}/s\n")
        for number in range(rounds):
            work = asyncio.to_thread(
                ingest.produce_in_parallel, common, bench, paced, 100 + number, 1, ingest.PACED_RATE
            )
            done, reads = await ingest._with_reads(reports, bench, work)
            figures = ingest.reads_within(reads, done.began, done.ended)
            for name, samples in reads.items():
                all_reads += [(number, name, at, ms) for at, ms in samples]
            window = [r for r in sampler.rows if done.began < r["t"] <= done.ended + 1]
            seconds = max(len(window), 1)
            cpu = {k: sum(r[k] for r in window) / seconds for k in window[0] if k != "t"}
            parts = [f"round {number} {done.rate:7,.0f} ev/s"]
            for name, lat in figures.items():
                parts.append(f"{name} p50 {lat.p50_ms:6.1f} p95 {lat.p95_ms:6.1f} (n={lat.count})")
            parts.append(" ".join(f"{k} {v:.2f}" for k, v in cpu.items()) + " cores")
            sys.stdout.write(" | ".join(parts) + "\n")
            sys.stdout.flush()
            await ingest._until_visible(reports, account, visible, done.events)
            visible += done.events
            await asyncio.sleep(5)
    finally:
        stop.set()
        await sampling
        await reports.aclose()
        conn = await asyncpg.connect(common.database_url)
        try:
            await conn.execute("DELETE FROM accounts WHERE id = $1", account)
        finally:
            await conn.close()
    if out:
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            keys = [k for k in sampler.rows[0] if k != "t"]
            writer.writerow(["t", *keys, "reads_ms"])
            for row in sampler.rows:
                ms = [
                    f"{name[0]}{v:.0f}"
                    for _, name, at, v in all_reads
                    if row["t"] - 1 < at <= row["t"]
                ]
                writer.writerow([f"{row['t']:.1f}", *(f"{row[k]:.2f}" for k in keys), " ".join(ms)])


if __name__ == "__main__":
    out = sys.argv[4] if len(sys.argv) > 4 else None
    if len(sys.argv) > 5:
        sys.stdout.write(f"merge threads {renice_merges(int(sys.argv[5]))} at nice {sys.argv[5]}\n")
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), out))
