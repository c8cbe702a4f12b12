"""Benchmark: import N synthetic leads (CSV) through `import_leads` and print rows/s.

Runs against a throw-away database created next to FANOUT_DATABASE_URL's (all
migrations applied, dropped afterwards). Not part of the test suite:

    .venv/bin/python bench/import_leads.py            # 1,000,000 leads
    .venv/bin/python bench/import_leads.py -n 200000 --format jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson

from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import create_account
from shared.db import create_pool
from shared.migrations.postgres import upgrade_async
from shared.settings import CommonSettings

COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "SE", "PL", "BR"]
TAGS = ["vip", "newsletter", "trial", "churned", "beta", "partner"]
LINES_PER_CHUNK = 2000


def _csv_line(i: int, rng: random.Random) -> bytes:
    tags = ";".join(rng.sample(TAGS, rng.randint(0, 3)))
    return (
        f"user{i}@example{i % 97}.com,First{i},Last{i},{rng.choice(COUNTRIES)},{tags},"
        f"{rng.randint(18, 90)},{rng.choice(['free', 'pro', 'team'])}\n"
    ).encode()


def _jsonl_line(i: int, rng: random.Random) -> bytes:
    lead = {
        "email": f"user{i}@example{i % 97}.com",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "country": rng.choice(COUNTRIES),
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "attributes": {"age": rng.randint(18, 90), "plan": rng.choice(["free", "pro", "team"])},
    }
    return orjson.dumps(lead) + b"\n"


async def synthetic_file(n: int, fmt: ImportFormat) -> AsyncIterator[bytes]:
    """The file as ~100 KB chunks, generated on the fly (never held whole)."""
    rng = random.Random(42)
    line = _csv_line if fmt is ImportFormat.CSV else _jsonl_line
    if fmt is ImportFormat.CSV:
        yield b"email,first_name,last_name,country,tags,age,plan\n"
    for start in range(0, n, LINES_PER_CHUNK):
        yield b"".join(line(i, rng) for i in range(start, min(n, start + LINES_PER_CHUNK)))
        await asyncio.sleep(0)


async def run(n: int, fmt: ImportFormat, chunk_rows: int, keep: bool) -> None:
    common = CommonSettings()
    name = f"fanout_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(common.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = common.database_url.rsplit("/", 1)[0] + "/" + name
    try:
        await upgrade_async(dsn)
        pool = await create_pool(dsn, max_size=2)
        account_id, _ = await create_account(pool, "bench")
        started = time.perf_counter()
        report = await import_leads(
            pool, account_id, synthetic_file(n, fmt), fmt, chunk_rows=chunk_rows
        )
        elapsed = time.perf_counter() - started
        await pool.close()
        print(  # noqa: T201 - a benchmark prints its result
            f"{fmt.value}: {report.accepted:,} leads in {elapsed:.1f} s = "
            f"{report.accepted / elapsed:,.0f} rows/s "
            f"(created {report.created:,}, rejected {report.rejected:,})"
        )
    finally:
        if keep:
            print(f"kept database {name}")  # noqa: T201
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="number of leads")
    parser.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    parser.add_argument("--chunk-rows", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    asyncio.run(run(args.n, ImportFormat(args.format), args.chunk_rows, args.keep))
    sys.exit(0)


if __name__ == "__main__":
    main()
