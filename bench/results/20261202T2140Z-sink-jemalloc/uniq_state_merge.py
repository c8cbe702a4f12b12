"""What one merge of uniqExact lead states costs in chDB's resident memory, by campaign size.

A table shaped like campaign_hourly (AggregatingMergeTree of uniqExact(UUID) states) gets
N random lead ids as 100 parts with merges stopped, then OPTIMIZE FINAL merges them into
one state of N leads; VmRSS/VmHWM before and after, and after `SYSTEM JEMALLOC PURGE`
(which returns what chDB's allocator kept of the freed memory). Run one process per N:
`python uniq_state_merge.py N [B]` (optionally with JE_MALLOC_CONF set, read at load);
with B > 0 the lead ids are split into B states by a hash of the id (a bucket column in
the key), so no state holds more than about N / B of them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from typing import Any, cast

from chdb import session

PARTS = 100


def status(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def main(leads: int, buckets: int) -> None:
    s = cast(Any, session).Session(tempfile.mkdtemp())  # chDB is untyped
    s.query("CREATE DATABASE IF NOT EXISTS t")
    s.query(
        "CREATE TABLE t.h (campaign UUID, type LowCardinality(String), bucket UInt16, "
        "leads AggregateFunction(uniqExact, UUID)) "
        "ENGINE = AggregatingMergeTree ORDER BY (campaign, type, bucket)"
    )
    s.query("SYSTEM STOP MERGES t.h")
    start = status("VmRSS")
    for _ in range(PARTS):
        s.query(
            "INSERT INTO t.h SELECT toUUID('00000000-0000-0000-0000-000000000001'), 'sent', "
            f"cityHash64(id) % {max(buckets, 1)} AS bucket, uniqExactState(id) "
            f"FROM (SELECT generateUUIDv4(number) AS id FROM numbers({leads // PARTS})) "
            "GROUP BY bucket"
        )
    inserted = status("VmRSS")
    s.query("SYSTEM START MERGES t.h")
    began = time.perf_counter()
    s.query("OPTIMIZE TABLE t.h FINAL")
    took = time.perf_counter() - began
    merged, peak = status("VmRSS"), status("VmHWM")
    per_bucket = "SELECT bucket, uniqExactMerge(leads) AS n FROM t.h GROUP BY bucket"
    count = str(s.query(f"SELECT sum(n) FROM ({per_bucket})", "CSV")).strip()
    s.query("SYSTEM JEMALLOC PURGE")
    sys.stdout.write(
        f"leads={leads} buckets={buckets} start={start:.0f} inserted={inserted:.0f} "
        f"merged={merged:.0f} "
        f"peak={peak:.0f} merge_s={took:.1f} count={count} purged={status('VmRSS'):.0f} (MB)\n"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
