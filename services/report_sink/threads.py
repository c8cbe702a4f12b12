"""The embedded engine's merges yield the CPU to the reports (docs/reports.md, "Reads while
the sink ingests").

In embedded mode one process inserts, merges and answers the reports API. A burst of
inserts leaves the engine a backlog of merges, and its merge threads (named
`MergeMutate…`, `background_pool_size` of them) then take whole cores for seconds while
reports wait for theirs: straight after a 2M-event burst, recipients and funnel reads had
p95 of 415–698 ms with the merges at the default priority, and 208–308 ms with them at
nice 19 (`bench/results/20261203T1100Z-paced-anatomy`). `renice_merges` gives those
threads a higher nice value: Linux then runs them when the process's other threads (the
reports' queries, the inserts, the service's own Python) leave a core idle, and they
still get their share when those threads keep the cores busy. Merges are never stopped,
only deferred; the inserts keep the default priority (the topic must not back up).

Raising a thread's nice value needs no privilege. Linux only (thread names and ids from
/proc/self/task); anywhere else, and with a ClickHouse server (no engine in this process),
nothing is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import structlog

from shared.periodic import stopped_within
from shared.threads import threads_named

log = structlog.get_logger(__name__)

MERGE_THREADS = "MergeMutate"  # ClickHouse's name for its merge (and mutation) threads
CHECK_EVERY_S = 30.0


def renice_merges(nice: int, tasks: Path = Path("/proc/self/task")) -> int:
    """Give this process's merge threads the nice value `nice` (those that have another);
    how many were changed."""
    if not tasks.is_dir():
        return 0
    changed = 0
    for task in threads_named(tasks, MERGE_THREADS):
        with contextlib.suppress(OSError, ValueError):  # a thread may end meanwhile
            tid = int(task.name)
            if os.getpriority(os.PRIO_PROCESS, tid) != nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                changed += 1
    return changed


async def keep_merges_niced(nice: int, stop: asyncio.Event) -> None:
    """`renice_merges` now and every `CHECK_EVERY_S` until `stop`: the engine may start
    merge threads later (they are created with the first MergeTree table)."""
    while True:
        changed = renice_merges(nice)
        if changed:
            log.info("clickhouse.merges_niced", threads=changed, nice=nice)
        if await stopped_within(stop, CHECK_EVERY_S):
            return
