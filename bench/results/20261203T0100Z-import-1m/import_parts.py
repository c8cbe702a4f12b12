"""Where a million-lead import spends its time, in a scratch database beside the stack's.

    python import_parts.py split N          # the importer, timing COPY to staging and merge
    python import_parts.py settings N base,gin,base,gin
                                            # the importer with the GIN settings per run
    python import_parts.py parts N all,bare,-fk,...
                                            # the merge into `leads` with one part removed

`split`: `import_leads` as `fanout bench import` runs it (CSV, chunks of 20,000 rows),
with its load step timed in two: the COPY into the staging table and the merge (the
upsert into `leads`). `settings`: the same import with `work_mem` and
`gin_pending_list_limit` raised for its transaction ("gin") or not ("base"), and the
WAL written and checkpoints requested during each. `parts`: N generated leads (chunks of
20,000) COPY'd to staging and merged into `leads` inside a transaction that first drops
one constraint, trigger or index and is then rolled back (`VACUUM leads` after each), so
each variant starts from the same empty table; "plain" is an INSERT without ON CONFLICT.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

import asyncpg
import orjson

from fanout_cli.bench import lead_import
from fanout_cli.bench.lead_import import COUNTRIES, TAGS
from fanout_cli.bench.scratch import scratch_database
from services.campaign_api.leads import importer
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import create_account
from shared.settings import CommonSettings

CHUNK = 20_000
GIN_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL gin_pending_list_limit = '256MB';"
INDEXES = ("leads_attributes", "leads_tags", "leads_account_id", "leads_account_country",
           "leads_account_created", "leads_unsubscribed")  # fmt: skip
DROP = {
    "all": [],
    "plain": [],
    "-fk": ["ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey"],
    "-trigger": ["ALTER TABLE leads DISABLE TRIGGER USER"],
    "-gin_attr": ["DROP INDEX leads_attributes"],
    "-gin_tags": ["DROP INDEX leads_tags"],
    "-acct_id": ["DROP INDEX leads_account_id"],
    "-country": ["DROP INDEX leads_account_country"],
    "-created": ["DROP INDEX leads_account_created"],
    "bare": [
        "ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey",
        "ALTER TABLE leads DISABLE TRIGGER USER",
        *(f"DROP INDEX {index}" for index in INDEXES),
    ],
}
PLAIN = f"""
INSERT INTO leads (account_id, email, first_name, last_name, country, tags, attributes)
SELECT $1::uuid, s.email, s.first_name, s.last_name, s.country,
       COALESCE(s.tags, '{{}}'), COALESCE(s.attributes::jsonb, '{{}}'::jsonb)
FROM {importer.STAGING} s
"""


def say(*parts: object) -> None:
    """One line of the report on standard output."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


async def split(n: int) -> None:
    spent = {"copy": 0.0, "merge": 0.0}

    async def load(
        conn: asyncpg.Connection, account: Any, chunk: Any, _on_conflict: Any
    ) -> asyncpg.Record:
        started = time.perf_counter()
        records = chunk.records
        await conn.copy_records_to_table(
            importer.STAGING, records=records, columns=importer.COLUMNS
        )
        copied = time.perf_counter()
        counts = await conn.fetchrow(importer.MERGE, account, True, len(records))
        spent["copy"] += copied - started
        spent["merge"] += time.perf_counter() - copied
        await conn.execute(f"TRUNCATE {importer.STAGING}")
        return counts

    importer._load = load  # type: ignore[assignment]  # noqa: SLF001 - a timed copy of it
    url = CommonSettings().database_url
    figures = await lead_import.run_import(url, n, ImportFormat.CSV, CHUNK)
    say(f"{n:,} leads in {figures.seconds:.1f} s ({figures.rows_per_s:,.0f} rows/s): COPY to "
        f"staging {spent['copy']:.1f} s, merge {spent['merge']:.1f} s; this process "
        f"{figures.cpu_us_per_row:.1f} µs of CPU per row")  # fmt: skip


async def _wal(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        requested = await conn.fetchval("SELECT checkpoints_req FROM pg_stat_bgwriter")
        return int(requested), str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))
    finally:
        await conn.close()


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


async def settings(n: int, order: list[str]) -> None:
    url = CommonSettings().database_url
    base = importer.CREATE_STAGING
    for name in order:
        importer.CREATE_STAGING = (GIN_SETTINGS if name == "gin" else "") + base
        checkpoints, lsn = await _wal(url)
        figures = await lead_import.run_import(url, n, ImportFormat.CSV, CHUNK)
        checkpoints_after, lsn_after = await _wal(url)
        say(f"{name:5s} {figures.seconds:.1f} s ({figures.rows_per_s:,.0f} rows/s), WAL "
            f"{(_lsn(lsn_after) - _lsn(lsn)) / 2**20:,.0f} MB, "
            f"{checkpoints_after - checkpoints} checkpoints requested")  # fmt: skip
    importer.CREATE_STAGING = base


def _chunk(number: int) -> list[tuple[Any, ...]]:
    rng = random.Random(number)
    return [
        (f"c{number}-user{i}@example{i % 97}.com", f"First{i}", f"Last{i}",
         rng.choice(COUNTRIES), rng.sample(TAGS, rng.randint(0, 3)),
         orjson.dumps({"age": rng.randint(18, 90),
                       "plan": rng.choice(["free", "pro", "team"])}).decode())
        for i in range(CHUNK)
    ]  # fmt: skip


async def parts(n: int, order: list[str]) -> None:
    chunks = [_chunk(k) for k in range(n // CHUNK)]
    async with scratch_database(CommonSettings().database_url) as scratch:
        account, _ = await create_account(scratch.pool, "import-parts")
        async with scratch.pool.acquire() as conn:
            for name in order:
                transaction = conn.transaction()
                await transaction.start()
                for statement in DROP[name]:
                    await conn.execute(statement)
                await conn.execute(importer.CREATE_STAGING)
                merge = 0.0
                for records in chunks:
                    await conn.copy_records_to_table(
                        importer.STAGING, records=records, columns=importer.COLUMNS
                    )
                    started = time.perf_counter()
                    if name == "plain":
                        await conn.execute(PLAIN, account)
                    else:
                        await conn.fetchrow(importer.MERGE, account, True, len(records))
                    merge += time.perf_counter() - started
                    await conn.execute(f"TRUNCATE {importer.STAGING}")
                await transaction.rollback()
                await conn.execute("VACUUM leads")
                say(f"{name:10s} merge {merge:.2f} s = {merge / n * 1e6:.1f} µs per row")


def main() -> None:
    mode, n = sys.argv[1], int(sys.argv[2])
    order = sys.argv[3].split(",") if len(sys.argv) > 3 else []
    run = {"split": lambda: split(n), "settings": lambda: settings(n, order),
           "parts": lambda: parts(n, order)}[mode]  # fmt: skip
    asyncio.run(run())


if __name__ == "__main__":
    main()
