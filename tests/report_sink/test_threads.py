"""The embedded engine's merge threads get the configured nice value, and nothing else of the
process does (services/report_sink/threads.py); the sink fetches events in bulk.

The engine part runs in a child process: one chDB engine per process, and the thread
priorities looked at must be that engine's alone."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from services.report_sink.config import Settings
from services.report_sink.consumer import SinkConsumer
from services.report_sink.sink import EventWriter
from services.report_sink.threads import keep_merges_niced, renice_merges
from shared.clickhouse import AsyncClickHouse
from tests.child_python import run_python

PROBE = """
import json, os, sys
from pathlib import Path
from services.report_sink.config import Settings
from services.report_sink.threads import renice_merges
from shared.clickhouse import connect_embedded

def threads():
    seen = []
    for task in Path("/proc/self/task").iterdir():
        name = (task / "comm").read_text().strip()
        seen.append((int(task.name), name, os.getpriority(os.PRIO_PROCESS, int(task.name))))
    return seen

settings = Settings(chdb_background_pool_size=2)
client = connect_embedded(Path(sys.argv[1]), engine_options=settings.engine_options())
client.command("CREATE TABLE t (n UInt32) ENGINE = MergeTree ORDER BY n")
for part in range(4):  # parts to merge: the merge threads have work while they are reniced
    client.insert("t", [(part * 10 + i,) for i in range(10)], column_names=["n"])
before = threads()
changed = renice_merges(13)
again = renice_merges(13)
client.command("OPTIMIZE TABLE t FINAL")
print(json.dumps({"changed": changed, "again": again, "before": before, "threads": threads(),
                  "count": client.query("SELECT count() FROM t").result_rows[0][0]}))
"""


@pytest.mark.clickhouse
def test_only_the_engines_merge_threads_are_reniced(tmp_path: Path) -> None:
    seen = json.loads(run_python(PROBE, tmp_path / "chdb"))
    merges = [nice for _, name, nice in seen["threads"] if name.startswith("MergeMutate")]
    # every other thread alive before and after kept its nice value (the engine sets some
    # of its own; pool threads come, go and change names)
    before = {tid: nice for tid, name, nice in seen["before"] if not name.startswith("Merge")}
    after = {tid: nice for tid, name, nice in seen["threads"] if not name.startswith("Merge")}
    kept = before.keys() & after.keys()
    assert merges == [13, 13]  # background_pool_size of them
    assert seen["changed"] == 2
    assert seen["again"] == 0  # already at the value: left alone
    assert len(kept) > 5 and all(before[tid] == after[tid] for tid in kept), (before, after)
    assert seen["count"] == 40  # the niced threads still merge


def _named_thread(name: str, ready: threading.Event, done: threading.Event) -> None:
    import ctypes

    libc = ctypes.CDLL(None)
    libc.prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME: this thread's comm
    ready.set()
    done.wait(10)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux /proc")
async def test_keep_merges_niced_renices_threads_and_stops_when_asked() -> None:
    ready, done = threading.Event(), threading.Event()
    worker = threading.Thread(target=_named_thread, args=("MergeMutate", ready, done))
    bystander = threading.Thread(target=_named_thread, args=("QueryPipeline", ready, done))
    worker.start()
    assert ready.wait(5)
    ready.clear()
    bystander.start()
    assert ready.wait(5)
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(keep_merges_niced(7, stop))
        await asyncio.sleep(0.1)
        assert worker.native_id is not None and bystander.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, worker.native_id) == 7
        assert os.getpriority(os.PRIO_PROCESS, bystander.native_id) == 0
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, 1)
    finally:
        done.set()
        worker.join()
        bystander.join()


def test_renice_merges_without_proc_does_nothing(tmp_path: Path) -> None:
    assert renice_merges(19, tasks=tmp_path / "absent") == 0


async def test_the_sink_fetches_in_bulk(ch: AsyncClickHouse, producer: AIOKafkaProducer) -> None:
    """The broker answers the sink's fetches by size or wait, as configured (aiokafka's
    default answers as soon as one record is there: a fetch per producer batch)."""
    settings = Settings(fetch_min_bytes=123_456, fetch_max_wait_ms=321)
    consumer = SinkConsumer(settings, EventWriter(ch), producer)
    options = consumer._runner._opts.consumer  # noqa: SLF001 - what the runner's consumer gets
    assert (options.fetch_min_bytes, options.fetch_max_wait_ms) == (123_456, 321)
    assert Settings().fetch_min_bytes == 1024 * 1024
