"""Where the broker's work goes during a run: its requests by kind, each topic's bytes.

The broker's own counters (JMX: `kafka.network` request metrics and `kafka.server`
per-topic metrics), read by `KafkaCounters.java`, which the JDK that runs the broker
runs from source, attached to the broker's process. A snapshot before and after a run
gives what the run cost. A topic's bytes out well above its bytes in times its consumer
groups means records fetched again: the sender's consumer once read `email.sends` 33
times over, aiokafka dropping what it had fetched for each paused partition
(bench/results/20261203T1930Z-kafka-refetch). Without a JDK or a broker process the
run has no broker figures, and says why, never an error.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class BrokerLoad:
    """What one run cost the broker: requests by kind, and each topic's meters."""

    requests: dict[str, int] = field(default_factory=dict)
    topics: dict[str, dict[str, int]] = field(default_factory=dict)
    unavailable: str | None = None  # why there are no figures


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
