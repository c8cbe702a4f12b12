"""report_sink's memory knobs reach the embedded engine, and handing back chDB's start-up
pages shrinks the resident set without breaking the engine (docs/reports.md, "Memory").

In a child process: one chDB engine per process, and RSS must be the engine's alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.child_python import run_python

pytestmark = pytest.mark.clickhouse

PROBE = """
import json, sys
from pathlib import Path
from services.report_sink.config import Settings
from services.report_sink.memory import limit_malloc_arenas, release_engine_code
from shared.clickhouse import connect_embedded

def rss_file_mb():
    status = open("/proc/self/status").read()
    return int(status.split("RssFile:")[1].split()[0]) // 1024

settings = Settings(chdb_cache_bytes=3 * 1024**2, chdb_background_pool_size=1)
arenas = limit_malloc_arenas(settings.malloc_arena_max)
client = connect_embedded(Path(sys.argv[1]), engine_options=settings.engine_options())
names = "('mark_cache_size', 'primary_index_cache_size', 'background_pool_size')"
server = dict(client.query(
    f"SELECT name, value FROM system.server_settings WHERE name IN {names}"
).result_rows)
client.command("CREATE TABLE t (n UInt32, s String) ENGINE = MergeTree ORDER BY n")
before = rss_file_mb()
released = release_engine_code()
after = rss_file_mb()
client.insert("t", [(i, f"r{i}") for i in range(10_000)], column_names=["n", "s"])
count, total = client.query("SELECT count(), sum(n) FROM t").result_rows[0]
print(json.dumps({"server": server, "before": before, "after": after, "released": released,
                  "count": count, "sum": total, "arenas": arenas}))
"""


def test_engine_options_apply_and_code_release_shrinks_rss(tmp_path: Path) -> None:
    seen = json.loads(run_python(PROBE, tmp_path / "chdb"))
    assert seen["server"] == {
        "mark_cache_size": str(3 * 1024**2),
        "primary_index_cache_size": str(3 * 1024**2),
        "background_pool_size": "1",
    }
    assert seen["arenas"] is True  # glibc (the images and CI are glibc Linux)
    assert seen["released"] > 200 * 1024**2  # the library's code and read-only data
    assert seen["after"] < seen["before"] - 100, seen  # MB of file-backed RSS handed back
    # the engine keeps working on the pages it needs
    assert (seen["count"], seen["sum"]) == (10_000, sum(range(10_000)))
