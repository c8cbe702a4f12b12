"""The sender's record statement with the ledger's `detail` compressed by pglz (Postgres's
default), by lz4, or stored out of line uncompressed (`STORAGE EXTERNAL`).

Scratch copies of the ledger tables (`x_*`, dropped at the end) in the local stack's
database; 4,000 batches of 50 recipients recorded ten per statement (about what the sender's
coalescer shares in a 1M run: 2,099 statements for 20,000 batches), rounds alternating
between the kinds. Per email: the backend's CPU (user + system from /proc, the server
process of this connection), the statement's execution time and WAL bytes
(pg_stat_statements). Run from the repository root, as root, with the local stack up:
`.venv/bin/python bench/results/20261203T2230Z-ledger-toast/toast_bench.py 6`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import uuid
from datetime import UTC, datetime

import asyncpg

from services.sender import ledger
from services.sender.outcomes import Outcome, outcome_counts
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient

DSN = os.environ.get("DSN", "postgresql://fanout:fanout@127.0.0.1:55432/fanout")
BATCHES, PER_CALL = 4000, 10
KINDS = {
    "pglz": "ALTER COLUMN detail SET COMPRESSION pglz",
    "lz4": "ALTER COLUMN detail SET COMPRESSION lz4",
    "external": "ALTER COLUMN detail SET STORAGE EXTERNAL",
}
TABLES = ", ".join([f"x_{t}_{k}" for k in KINDS for t in ("out", "def", "att")] + ["x_campaigns"])
TICKS = os.sysconf("SC_CLK_TCK")
Detail = tuple[str, tuple[int, ...]]


def statement(kind: str) -> str:
    """The sender's RECORD on the scratch tables of `kind`."""
    return (
        ledger.RECORD.replace("send_batch_outcomes", f"x_out_{kind}")
        .replace("send_batch_deferrals", f"x_def_{kind}")
        .replace("send_batch_attempts", f"x_att_{kind}")
        .replace("FROM campaigns c", "FROM x_campaigns c")
    )


def details(count: int) -> list[Detail]:
    """`count` batches' details as the sender writes them (ids as the simulator gives them)."""
    made = []
    for b in range(count):
        outcomes = [
            Outcome(
                FastRecipient(uuid.uuid4(), f"lead{b}.{i}@example{i % 7}.com"),
                EventType.SENT,
                provider_message_id=f"sim-{uuid.uuid4()}",
            )
            for i in range(50)
        ]
        made.append((ledger.encode_detail(outcomes), tuple(outcome_counts(outcomes))))
    return made


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def statements(conn: asyncpg.Connection) -> dict[str, tuple[float, ...]]:
    """Per kind: calls, execution ms, rows and WAL bytes of its RECORD so far."""
    totals = dict.fromkeys(KINDS, (0.0, 0.0, 0.0, 0.0))
    rows = await conn.fetch(
        "SELECT query, calls, total_exec_time, rows, wal_bytes FROM pg_stat_statements "
        "WHERE query LIKE 'WITH b AS%' AND query LIKE '%x_out_%'"
    )
    for row in rows:
        kind = next(k for k in KINDS if f"x_out_{k}" in row["query"])
        add = (row["calls"], row["total_exec_time"], row["rows"], float(row["wal_bytes"]))
        totals[kind] = tuple(a + b for a, b in zip(totals[kind], add, strict=True))
    return totals


async def create_tables(conn: asyncpg.Connection, campaign: uuid.UUID) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {TABLES}")
    await conn.execute("CREATE TABLE x_campaigns (id uuid PRIMARY KEY)")
    await conn.execute("INSERT INTO x_campaigns VALUES ($1)", campaign)
    for kind, alter in KINDS.items():
        await conn.execute(f"CREATE TABLE x_out_{kind} (LIKE send_batch_outcomes INCLUDING ALL)")
        await conn.execute(
            f"ALTER TABLE x_out_{kind} {alter}, "
            "ADD FOREIGN KEY (campaign_id) REFERENCES x_campaigns(id)"
        )
        await conn.execute(f"CREATE TABLE x_def_{kind} (LIKE send_batch_deferrals INCLUDING ALL)")
        await conn.execute(f"CREATE TABLE x_att_{kind} (LIKE send_batch_attempts INCLUDING ALL)")


async def one_round(
    conn: asyncpg.Connection, pid: int, kind: str, campaign: uuid.UUID, data: list[Detail]
) -> float:
    """Record every batch of `data`; µs of the backend's CPU per email."""
    sql = statement(kind)
    await conn.execute(f"TRUNCATE x_out_{kind}")
    before = cpu_seconds(pid)
    for i in range(0, len(data), PER_CALL):
        chunk = data[i : i + PER_CALL]
        size, now = len(chunk), datetime.now(UTC)
        await conn.fetch(
            sql,
            [campaign] * size,
            list(range(i, i + size)),
            *([counts[n] for _, counts in chunk] for n in range(4)),
            [detail for detail, _ in chunk],
            [now] * size,
            [None] * size,
            [""] * size,
            [None] * size,
        )
    return (cpu_seconds(pid) - before) / (len(data) * 50) * 1e6


async def main(rounds: int) -> None:
    conn = await asyncpg.connect(DSN)
    campaign = uuid.uuid4()
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    try:
        await create_tables(conn, campaign)
        before = await statements(conn)
        data = details(BATCHES)
        mean = statistics.mean(len(detail) for detail, _ in data)
        sys.stdout.write(f"detail: {mean:,.0f} bytes per batch of 50\n")
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        order = list(KINDS)
        for r in range(rounds):
            for kind in order if r % 2 == 0 else order[::-1]:
                cpu[kind].append(await one_round(conn, pid, kind, campaign, data))
        for kind, xs in cpu.items():
            size = await conn.fetchval(
                "SELECT pg_total_relation_size($1::regclass)", f"x_out_{kind}"
            )
            sys.stdout.write(
                f"{kind}: backend CPU median {statistics.median(xs):.2f} µs per email, "
                f"rounds {[round(x, 2) for x in xs]}; table with TOAST {size / 1e6:.1f} MB "
                f"for {BATCHES} batches\n"
            )
        after = await statements(conn)
        for kind in KINDS:
            calls, ms, rows, wal = (a - b for a, b in zip(after[kind], before[kind], strict=True))
            emails = rows * 50
            sys.stdout.write(
                f"{kind}: pg_stat_statements {ms / emails * 1000:.2f} µs of execution and "
                f"{wal / emails:.0f} WAL bytes per email over {calls:.0f} calls\n"
            )
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLES}")
        await conn.close()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
