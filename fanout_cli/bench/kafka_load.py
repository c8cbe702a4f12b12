"""Where the broker's work goes during a run: its requests by kind, each topic's bytes.

The broker's own counters (JMX: `kafka.network` request metrics and `kafka.server`
per-topic metrics), read by `KafkaCounters.java`, which the JDK that runs the broker
runs from source, attached to the broker's process. A snapshot before and after a run
gives what the run cost. A topic's bytes out well above its bytes in times its consumer
groups means records fetched again: the sender's consumer once read `email.sends` 33
times over, aiokafka dropping what it had fetched for each paused partition
(bench/results/20261203T1930Z-kafka-refetch). Without a JDK or a broker process the
run has no broker figures, and says why, never an error.

Beside them, the CPU time of the broker's JIT compiler threads (`jit_cpu_s`, from /proc):
a broker started minutes before a run spends a large part of its CPU compiling its own
code (docs/benchmarks.md, "Round 30 of issue 17"), work a long-running broker has done
once, not work per email. It is part of Kafka's CPU per email, never taken out of it; the
line says how much of it was warming up.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from shared.threads import threads_named

COUNTERS = Path(__file__).with_name("KafkaCounters.java")
READ_TIMEOUT_S = 60.0
# Per-topic meters kept, by the broker's name (BrokerTopicMetrics).
TOPIC_METERS = {
    "BytesInPerSec": "bytes_in",
    "BytesOutPerSec": "bytes_out",
    "MessagesInPerSec": "records_in",
    "TotalProduceRequestsPerSec": "produce_requests",
    "TotalFetchRequestsPerSec": "fetch_requests",
}

Snapshot = dict[str, float]

PROC = Path("/proc")
# HotSpot's compiler threads ("C1 CompilerThread0", "C2 CompilerThread0"), as the kernel
# names them: cut to 15 characters
JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")


@dataclass
class BrokerLoad:
    """What one run cost the broker: requests by kind, and each topic's meters."""

    requests: dict[str, int] = field(default_factory=dict)
    topics: dict[str, dict[str, int]] = field(default_factory=dict)
    unavailable: str | None = None  # why there are no figures
    jit_cpu_s: float | None = None  # of the broker's CPU, its JIT compiler threads' (`jit_cpu_s`)


async def snapshot(broker_pid: int | None) -> Snapshot | str:
    """The broker's counters now, or why they cannot be read."""
    java = shutil.which("java")
    if java is None:
        return "no `java` on PATH"
    if broker_pid is None:
        return "no broker process"
    proc = await asyncio.create_subprocess_exec(
        java,
        str(COUNTERS),
        str(broker_pid),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"reading the broker's counters took over {READ_TIMEOUT_S:.0f} s"
    if proc.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        return f"reading the broker's counters failed: {last[0]}"
    return parse(out.decode())


def parse(text: str) -> Snapshot:
    """`KafkaCounters.java`'s lines as `request KIND` / `topic METRIC TOPIC` → count."""
    counters: Snapshot = {}
    for line in text.splitlines():
        *key, count = line.split()
        if key and key[0] in ("request", "topic"):
            name = " ".join(key)
            counters[name] = counters.get(name, 0.0) + float(count)
    return counters


def difference(before: Snapshot | str, after: Snapshot | str) -> BrokerLoad:
    """What happened between two snapshots (counters that did not move are left out)."""
    if isinstance(before, str) or isinstance(after, str):
        return BrokerLoad(unavailable=before if isinstance(before, str) else str(after))
    load = BrokerLoad()
    for key, now in after.items():
        moved = int(now - before.get(key, 0.0))
        if moved <= 0:
            continue
        kind, *rest = key.split()
        if kind == "request":
            load.requests[rest[0]] = moved
        elif rest[0] in TOPIC_METERS:
            load.topics.setdefault(rest[1], {})[TOPIC_METERS[rest[0]]] = moved
    load.requests = dict(sorted(load.requests.items(), key=lambda item: -item[1]))
    load.topics = dict(sorted(load.topics.items()))
    return load


def jit_cpu_s(broker_pid: int | None, proc: Path = PROC) -> float | None:
    """CPU seconds the broker's JIT compiler threads have used so far; None without the
    process (or without /proc).

    HotSpot keeps the first compiler thread of each kind for the process's life and stops
    the others when idle, taking their time with them: on two cores there is one of each,
    so the figure is whole; with more cores it is a lower bound.
    """
    if broker_pid is None:
        return None
    try:
        compilers = threads_named(proc / str(broker_pid) / "task", JIT_THREADS)
    except OSError:
        return None
    ticks = 0
    for task in compilers:
        try:
            # after the name in parentheses: state is field 3, utime 14 and stime 15
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def jit_difference(before: float | None, after: float | None) -> float | None:
    """The JIT's CPU seconds between two readings (None if either is missing)."""
    if before is None or after is None:
        return None
    return round(max(0.0, after - before), 2)
