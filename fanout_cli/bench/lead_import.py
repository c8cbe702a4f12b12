"""`fanout bench import`: N synthetic leads (CSV or JSON Lines) through `import_leads`, rows/s.

The file is generated on the fly and fed to the same importer as `POST /leads/import`,
in a scratch database beside FANOUT_DATABASE_URL's (dropped afterwards unless kept).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from fanout_cli.bench.scratch import scratch_database
from services.campaign_api.leads.importer import import_leads
from services.campaign_api.leads.parsing import ImportFormat
from shared.auth import create_account

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


@dataclass(frozen=True)
class ImportFigures:
    """What one import run measured."""

    format: str
    seconds: float
    cpu_seconds: float  # this process's CPU time: generating the file, parsing, COPY
    accepted: int
    created: int
    rejected: int
    kept_database: str | None

    @property
    def rows_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_row(self) -> float:
        return self.cpu_seconds / self.accepted * 1e6 if self.accepted else 0.0


async def run_import(
    database_url: str, n: int, fmt: ImportFormat, chunk_rows: int, keep: bool = False
) -> ImportFigures:
    """Import `n` synthetic leads into a scratch database, timed."""
    async with scratch_database(database_url, keep=keep) as scratch:
        account_id, _ = await create_account(scratch.pool, "bench")
        started, cpu_started = time.perf_counter(), time.process_time()
        report = await import_leads(
            scratch.pool, account_id, synthetic_file(n, fmt), fmt, chunk_rows=chunk_rows
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    kept = scratch.name if keep else None
    return ImportFigures(
        fmt.value, elapsed, cpu, report.accepted, report.created, report.rejected, kept
    )
