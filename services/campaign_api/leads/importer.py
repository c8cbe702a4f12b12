"""Bulk lead import: stream → parse/validate → COPY into staging → upsert, in one transaction.

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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

import asyncpg
import orjson

from services.campaign_api.leads.parsing import ImportFormat, parse_rows
from services.campaign_api.leads.rows import ParsedRow
from shared import metrics

STAGING = "lead_import_staging"
COLUMNS = ("line", "email", "first_name", "last_name", "country", "tags", "attributes")
CREATE_STAGING = f"""
CREATE TEMP TABLE {STAGING} (
    line bigint, email text, first_name text, last_name text, country text,
    tags text[], attributes text
) ON COMMIT DROP
"""
# $2: update leads that existed before the import (on_conflict=update) or leave them (skip).
# A lead this very import created has created_at = now() (the transaction's start), so a
# later chunk repeating its address merges into it in both modes, counted once as created.
MERGE = f"""
WITH upserted AS (
    INSERT INTO leads AS l (account_id, email, first_name, last_name, country, tags, attributes)
    SELECT DISTINCT ON (s.email) $1::uuid, s.email, s.first_name, s.last_name, s.country,
           COALESCE(s.tags, '{{}}'), COALESCE(s.attributes::jsonb, '{{}}'::jsonb)
    FROM {STAGING} s
    ORDER BY s.email, s.line DESC
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
       (SELECT count(DISTINCT email) FROM {STAGING}) - count(*) AS skipped
FROM upserted
"""


class OnConflict(StrEnum):
    """What an import does with a row whose address is already a lead of the account."""

    UPDATE = "update"  # merge the row into the lead (blank values never erase)
    SKIP = "skip"  # leave the lead as it was


Record = tuple[int, str, str | None, str | None, str | None, list[str] | None, str | None]


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


def _record(row: ParsedRow) -> Record:
    lead = row.lead
    assert lead is not None
    attributes = orjson.dumps(lead.attributes).decode() if lead.attributes is not None else None
    return (
        row.line,
        lead.email,
        lead.first_name,
        lead.last_name,
        lead.country,
        lead.tags,
        attributes,
    )


class _Collector:
    """Turns parsed rows into COPY records of `size`, counting and listing rejections."""

    def __init__(self, report: ImportReport, size: int, max_listed: int) -> None:
        self.report = report
        self.size = size
        self.max_listed = max_listed
        self.records: list[Record] = []

    def add(self, rows: list[ParsedRow]) -> None:
        self.report.rows += len(rows)
        for row in rows:
            if row.lead is not None:
                self.records.append(_record(row))
            else:
                self.report.rejected += 1
                if len(self.report.rejected_rows) < self.max_listed:
                    self.report.rejected_rows.append(RejectedRow(row.line, row.error or "invalid"))

    def take(self, final: bool = False) -> list[Record] | None:
        if self.records and (final or len(self.records) >= self.size):
            records, self.records = self.records, []
            return records
        return None


async def _parse_into(
    queue: asyncio.Queue[list[Record] | BaseException | None],
    fmt: ImportFormat,
    chunks: AsyncIterable[bytes],
    collector: _Collector,
) -> None:
    try:
        async for rows in parse_rows(fmt, chunks):
            collector.add(rows)
            records = collector.take()
            if records:
                await queue.put(records)
        records = collector.take(final=True)
        if records:
            await queue.put(records)
        await queue.put(None)
    except Exception as exc:  # handed to the loader, which re-raises it
        await queue.put(exc)


async def _load(
    conn: asyncpg.Connection, account_id: UUID, records: list[Record], on_conflict: OnConflict
) -> asyncpg.Record:
    await conn.copy_records_to_table(STAGING, records=records, columns=COLUMNS)
    counts = await conn.fetchrow(MERGE, account_id, on_conflict is OnConflict.UPDATE)
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
    queue: asyncio.Queue[list[Record] | BaseException | None] = asyncio.Queue(maxsize=2)
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
                report.accepted += len(item)
        finally:
            parser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await parser
    metrics.LEADS_IMPORTED.inc(report.accepted)
    return report
