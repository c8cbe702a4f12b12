"""The sender's record statement with `detail` as jsonb (before) and as text (after).

Scratch copies of the ledger tables (`x_*`, dropped at the end) in the local stack's
database; 200 batches of 50 recipients recorded two per statement (as the sender's
coalescer shares one), rounds alternating between the two; the statement's wall time per
email (client included) and its execution time from pg_stat_statements. Run from the
repository root with the local stack up:
`.venv/bin/python bench/results/20261202T1755Z-ledger-detail-text/detail_bench.py 10`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from services.sender import ledger
from services.sender.outcomes import Outcome, outcome_counts
from shared.contracts import EventType, Recipient

DSN = "postgresql://fanout:fanout@127.0.0.1:55432/fanout"
BATCHES, PER_CALL = 200, 2
KINDS = ("jsonb", "text")
TABLES = "x_out_jsonb, x_out_text, x_def_jsonb, x_def_text, x_att_jsonb, x_att_text, x_campaigns"
Detail = tuple[str, tuple[int, ...]]


def statement(kind: str) -> str:
    """The sender's RECORD on the scratch tables (jsonb: as it was before migration 0014)."""
    sql = (
        ledger.RECORD.replace("send_batch_outcomes", f"x_out_{kind}")
        .replace("send_batch_deferrals", f"x_def_{kind}")
        .replace("send_batch_attempts", f"x_att_{kind}")
        .replace("FROM campaigns c", "FROM x_campaigns c")
    )
    return sql.replace("false, detail,", "false, detail::jsonb,") if kind == "jsonb" else sql


def details(count: int) -> list[Detail]:
    """`count` batches' details as the sender writes them, with their counts."""
    made = []
    for b in range(count):
        outcomes = [
            Outcome(
                Recipient(lead_id=uuid.uuid4(), email=f"lead{b}.{i}@example{i % 7}.com"),
                EventType.SENT,
                provider_message_id=f"<{uuid.uuid4()}@fanout.example.com>",
            )
            for i in range(50)
        ]
        made.append((ledger.encode_detail(outcomes), tuple(outcome_counts(outcomes))))
    return made


async def create_tables(conn: asyncpg.Connection, campaign: uuid.UUID) -> None:
    await conn.execute(f"DROP TABLE IF EXISTS {TABLES}")
    await conn.execute("CREATE TABLE x_campaigns (id uuid PRIMARY KEY)")
    await conn.execute("INSERT INTO x_campaigns VALUES ($1)", campaign)
    for kind in KINDS:
        await conn.execute(f"CREATE TABLE x_out_{kind} (LIKE send_batch_outcomes INCLUDING ALL)")
        await conn.execute(
            f"ALTER TABLE x_out_{kind} ALTER COLUMN detail TYPE {kind} USING detail::{kind}, "
            "ADD FOREIGN KEY (campaign_id) REFERENCES x_campaigns(id)"
        )
        await conn.execute(f"CREATE TABLE x_def_{kind} (LIKE send_batch_deferrals INCLUDING ALL)")
        await conn.execute(f"CREATE TABLE x_att_{kind} (LIKE send_batch_attempts INCLUDING ALL)")


async def one_round(
    conn: asyncpg.Connection, kind: str, campaign: uuid.UUID, data: list[Detail], first: int
) -> float:
    """Record every batch of `data` (numbered from `first`); µs of wall per email."""
    sql = statement(kind)
    await conn.execute(f"TRUNCATE x_out_{kind}")
    started = time.perf_counter()
    for i in range(0, len(data), PER_CALL):
        chunk = data[i : i + PER_CALL]
        size, now = len(chunk), datetime.now(UTC)
        await conn.fetch(
            sql,
            [campaign] * size,
            list(range(first + i, first + i + size)),
            *([counts[n] for _, counts in chunk] for n in range(4)),
            [detail for detail, _ in chunk],
            [now] * size,
            [None] * size,
            [""] * size,
            [None] * size,
        )
    return (time.perf_counter() - started) / (len(data) * 50) * 1e6


async def main(rounds: int) -> None:
    conn = await asyncpg.connect(DSN)
    campaign = uuid.uuid4()
    try:
        await create_tables(conn, campaign)
        data = details(BATCHES)
        mean = statistics.mean(len(detail) for detail, _ in data)
        sys.stdout.write(f"detail: {mean:,.0f} bytes per batch of 50\n")
        walls: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for r in range(rounds):
            for kind in KINDS if r % 2 == 0 else KINDS[::-1]:
                walls[kind].append(await one_round(conn, kind, campaign, data, r * BATCHES))
        for kind, xs in walls.items():
            rounded = [round(x, 2) for x in xs]
            sys.stdout.write(
                f"{kind}: median {statistics.median(xs):.2f} µs per email "
                f"(wall of the statement, client included), rounds {rounded}\n"
            )
        rows = await conn.fetch(
            "SELECT query, calls, total_exec_time, rows FROM pg_stat_statements "
            "WHERE query LIKE '%x_out_%' AND query LIKE 'WITH b AS%'"
        )
        for row in rows:
            kind = "jsonb" if "x_out_jsonb" in row["query"] else "text"
            per_email = row["total_exec_time"] / (row["rows"] * 50) * 1000
            sys.stdout.write(
                f"{kind}: pg_stat_statements {per_email:.2f} µs of execution per email "
                f"over {row['calls']} calls\n"
            )
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLES}")
        await conn.close()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
