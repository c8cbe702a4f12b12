"""Bulk lead import: stream → parse/validate → binary COPY to staging → upsert, in one transaction.

Contract (the API and the benchmark share it):

- Rows that fail validation are skipped and reported (line number and reason;
  the first `max_listed` are listed, all are counted); the valid rows are imported.
- A file whose structure is broken (`ImportFormatError`: bad CSV header, not
  UTF-8, unterminated quote) imports nothing: everything happens in one
  transaction, rolled back on any error.
- Upsert by (account, email). Within one file the last row for an address wins.
  A blank value never erases: empty names/country/tags keep what the lead had,
  attributes are merged key by key. With `on_conflict=skip`, leads that existed
  before the import are left as they were (counted as `skipped`).

Memory is flat in file size: at most a few chunks of `chunk_rows` rows are
held at once. Parsing (Python) and merging (Postgres) overlap: a parser task
fills a small queue while the loader waits on the database.

Cost per row is what bounds a million-row import, so the parsers build the COPY
tuple directly (no intermediate objects; cells that repeat, such as countries,
tags and typed attribute values, are validated once per distinct value), a chunk
is deduplicated by address in Python (a dict: the last row wins), and Postgres
merges the chunk without sorting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

import asyncpg
import structlog

from services.campaign_api.leads.fields import LeadRecord
from services.campaign_api.leads.parsing import ImportFormat, parse_rows
from services.campaign_api.leads.rows import RowBatch
from shared import metrics

log = structlog.get_logger(__name__)

STAGING = "lead_import_staging"
COLUMNS = ("email", "first_name", "last_name", "country", "tags", "attributes")
CREATE_STAGING = f"""
CREATE TEMP TABLE {STAGING} (
    email text, first_name text, last_name text, country text, tags text[], attributes text
) ON COMMIT DROP
"""
# $2: update leads that existed before the import (on_conflict=update) or leave them (skip).
# A lead this very import created has created_at = now() (the transaction's start), so a
# later chunk repeating its address merges into it in both modes, counted once as created.
# The staging table holds each address once (the loader deduplicates), so no sort is needed.
MERGE = f"""
WITH upserted AS (
    INSERT INTO leads AS l (account_id, email, first_name, last_name, country, tags, attributes)
    SELECT $1::uuid, s.email, s.first_name, s.last_name, s.country,
           COALESCE(s.tags, '{{}}'), COALESCE(s.attributes::jsonb, '{{}}'::jsonb)
    FROM {STAGING} s
    ON CONFLICT (account_id, email) DO UPDATE SET
        first_name = COALESCE(EXCLUDED.first_name, l.first_name),
        last_name = COALESCE(EXCLUDED.last_name, l.last_name),
        country = COALESCE(EXCLUDED.country, l.country),
        tags = CASE WHEN cardinality(EXCLUDED.tags) = 0 THEN l.tags ELSE EXCLUDED.tags END,
        attributes = l.attributes || EXCLUDED.attributes,
        updated_at = now()
    WHERE $2::boolean OR l.created_at = now()
    RETURNING (xmax = 0) AS created, l.created_at = now() AS new_here
)
SELECT count(*) FILTER (WHERE created) AS created,
       count(*) FILTER (WHERE NOT new_here) AS updated,
       $3::bigint - count(*) AS skipped
FROM upserted
"""

# After a bulk load the planner still has the statistics of before it until autovacuum's
# ANALYZE comes round (up to a minute or more): an account whose million leads were just
# imported is estimated at the few hundred it had, and the resolver's pages (a campaign is
# often launched straight after its import) were planned as a scan of all its leads plus a
# sort, about a second each instead of a few milliseconds (bench/results/
# 20261203T1305Z-resolver-page-plans). So an import that wrote as many rows as autovacuum
# waits for (a tenth of the table) refreshes them itself once committed. ANALYZE reads a
# fixed-size sample, so its cost does not grow with the table. It gives way (after
# `ANALYZE_LOCK_TIMEOUT`) to another import's ANALYZE or a VACUUM of the table, which leaves
# statistics as fresh.
ANALYZE_SHARE = 0.1  # of the table's rows as last counted (autovacuum's default factor)
ANALYZE_MIN_ROWS = 1_000
ANALYZE_LOCK_TIMEOUT = "2s"
TABLE_ROWS = "SELECT reltuples FROM pg_class WHERE oid = 'leads'::regclass"


class OnConflict(StrEnum):
    """What an import does with a row whose address is already a lead of the account."""

    UPDATE = "update"  # merge the row into the lead (blank values never erase)
    SKIP = "skip"  # leave the lead as it was


@dataclass
class RejectedRow:
    """A line that was not imported, and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did."""

    rows: int = 0
    accepted: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)


class _Collector:
    """Gathers parsed rows into chunks of about `size` leads, one record per address (the
    file's last row for it wins), counting and listing rejections."""

    def __init__(self, report: ImportReport, size: int, max_listed: int) -> None:
        self.report = report
        self.size = size
        self.max_listed = max_listed
        self.records: dict[str, LeadRecord] = {}
        self.valid = 0  # rows in `records`, duplicates included

    def add(self, batch: RowBatch) -> None:
        self.report.rows += batch.rows
        records = self.records
        for record in batch.records:
            records[record[0]] = record
        self.valid += len(batch.records)
        self.report.rejected += len(batch.rejected)
        room = self.max_listed - len(self.report.rejected_rows)
        for line, reason in batch.rejected[: max(room, 0)]:
            self.report.rejected_rows.append(RejectedRow(line, reason))

    def take(self, final: bool = False) -> _Chunk | None:
        if self.records and (final or self.valid >= self.size):
            chunk = _Chunk(list(self.records.values()), self.valid)
            self.records, self.valid = {}, 0
            return chunk
        return None


@dataclass(frozen=True, slots=True)
class _Chunk:
    records: list[LeadRecord]  # one per address
    rows: int  # valid rows they came from


async def _parse_into(
    queue: asyncio.Queue[_Chunk | BaseException | None],
    fmt: ImportFormat,
    chunks: AsyncIterable[bytes],
    collector: _Collector,
) -> None:
    try:
        async for batch in parse_rows(fmt, chunks):
            collector.add(batch)
            chunk = collector.take()
            if chunk:
                await queue.put(chunk)
        chunk = collector.take(final=True)
        if chunk:
            await queue.put(chunk)
        await queue.put(None)
    except Exception as exc:  # handed to the loader, which re-raises it
        await queue.put(exc)


async def _load(
    conn: asyncpg.Connection, account_id: UUID, chunk: _Chunk, on_conflict: OnConflict
) -> asyncpg.Record:
    await conn.copy_records_to_table(STAGING, records=chunk.records, columns=COLUMNS)
    update = on_conflict is OnConflict.UPDATE
    counts = await conn.fetchrow(MERGE, account_id, update, len(chunk.records))
    await conn.execute(f"TRUNCATE {STAGING}")
    return counts


async def import_leads(
    pool: asyncpg.Pool,
    account_id: UUID,
    chunks: AsyncIterable[bytes],
    fmt: ImportFormat,
    *,
    chunk_rows: int = 20_000,
    max_listed: int = 100,
    on_conflict: OnConflict = OnConflict.UPDATE,
) -> ImportReport:
    """Import a CSV or JSON Lines file arriving as byte `chunks` into `account_id`'s leads.

    Raises `ImportFormatError` (nothing imported) when the file's structure is broken.
    """
    report = ImportReport()
    collector = _Collector(report, chunk_rows, max_listed)
    queue: asyncio.Queue[_Chunk | BaseException | None] = asyncio.Queue(maxsize=2)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(CREATE_STAGING)
        parser = asyncio.create_task(_parse_into(queue, fmt, chunks, collector))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                counts = await _load(conn, account_id, item, on_conflict)
                report.created += counts["created"]
                report.updated += counts["updated"]
                report.skipped += counts["skipped"]
                report.accepted += item.rows
        finally:
            parser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await parser
    metrics.LEADS_IMPORTED.inc(report.accepted)
    await refresh_statistics(pool, report.created + report.updated)
    return report


async def refresh_statistics(pool: asyncpg.Pool, written: int) -> bool:
    """ANALYZE `leads` when `written` rows are a large share of it; True when it ran.

    Best effort: the import is committed already, so a lock wait that times out or a failed
    ANALYZE is logged and autovacuum's later one is left to do it.
    """
    async with pool.acquire() as conn:
        rows = max(await conn.fetchval(TABLE_ROWS), 0.0)  # -1: never counted
        if written < max(ANALYZE_MIN_ROWS, ANALYZE_SHARE * rows):
            return False
        started = time.perf_counter()
        try:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = '{ANALYZE_LOCK_TIMEOUT}'")
                await conn.execute("ANALYZE leads")
        except asyncpg.PostgresError as exc:
            log.warning("leads_analyze_skipped", written=written, error=type(exc).__name__)
            return False
        log.info(
            "leads_analyzed",
            written=written,
            rows_before=int(rows),
            seconds=round(time.perf_counter() - started, 3),
        )
        return True
