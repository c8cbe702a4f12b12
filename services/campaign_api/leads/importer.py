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

Two load paths, one result. The upsert (COPY into a staging table, then
`INSERT ... SELECT ... ON CONFLICT` into `leads`) serves any row. An account that
had no leads when its import began (a first import: the large ones) has nothing
to merge into, so its rows go by a binary COPY straight into `leads`, which
costs Postgres 2-3 µs less per row (bench/results/20261205T0500Z-import-wal).
Only an address this import has already written needs the upsert: a Bloom
filter of the addresses written so far sends every row it may hold there (a
false positive only takes the slower path). A row that another writer made
meanwhile (a concurrent import or `POST /leads` of the same address) fails that
COPY on the unique key: its savepoint is rolled back, the chunk goes through the
upsert, and so does the rest of the import. An import makes at most
`_Direct.MAX_COPIES` such savepoints (a transaction with more than 64 subtransactions
slows every session's visibility checks while it runs); the chunks after them take
the upsert.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

import asyncpg
import orjson
import structlog
from rbloom import Bloom

from services.campaign_api.leads.fields import LeadRecord
from services.campaign_api.leads.parsing import ImportFormat, parse_rows
from services.campaign_api.leads.rows import RowBatch
from shared import metrics

log = structlog.get_logger(__name__)

STAGING = "lead_import_staging"
COLUMNS = ("email", "first_name", "last_name", "country", "tags", "attributes")
CREATE_STAGING = f"""
CREATE TEMP TABLE {STAGING} (
    email text, first_name text, last_name text, country text, tags text[], attributes text,
    id uuid
) ON COMMIT DROP
"""
# $2: update leads that existed before the import (on_conflict=update) or leave them (skip).
# A lead this very import created has created_at = now() (the transaction's start), so a
# later chunk repeating its address merges into it in both modes, counted once as created.
# The staging table holds each address once (the loader deduplicates), so no sort is needed.
# `MERGE_WITH_IDS`: the same, with the ids of new leads made by the importer (`_Ids`).
MERGE_TEMPLATE = """
WITH upserted AS (
    INSERT INTO leads AS l ({id_column}account_id, email, first_name, last_name, country, tags,
                            attributes)
    SELECT {id_value}$1::uuid, s.email, s.first_name, s.last_name, s.country,
           COALESCE(s.tags, '{{}}'), COALESCE(s.attributes::jsonb, '{{}}'::jsonb)
    FROM {staging} s
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
MERGE = MERGE_TEMPLATE.format(id_column="", id_value="", staging=STAGING)
MERGE_WITH_IDS = MERGE_TEMPLATE.format(id_column="id, ", id_value="s.id, ", staging=STAGING)
COLUMNS_WITH_IDS = (*COLUMNS, "id")

# A first import's new rows go straight into `leads` (module docstring), with ids made
# here (`_Ids`). The table's default gives them their created_at (the transaction's start,
# as the upsert's rows), so the upsert of a later row for the same address treats the
# lead as made by this import.
DIRECT_COLUMNS = ("id", "account_id", *COLUMNS)
HAS_LEADS = "SELECT EXISTS (SELECT 1 FROM leads WHERE account_id = $1)"
NO_TAGS: list[str] = []
NO_ATTRIBUTES = "{}"
VERSION_7 = 0x7000
COUNTER_MAX = 0xFFF
VARIANT = 0b10 << 62
RANDOM_62 = (1 << 62) - 1

# The attribute-keys catalogue (migrations 0008, 0019): the importer gathers its rows'
# keys and JSON types as it parses them (`_AttributeKeys`) and writes the new ones itself,
# once, at the end of its transaction, which it marks so that the trigger on `leads` does
# not read every row's attributes again (about 2 µs of Postgres CPU per row).
KEYS_NOTED = "SELECT set_config('fanout.attribute_keys_noted', 'on', true)"
NOTE_KEYS = """
INSERT INTO lead_attribute_keys (account_id, key, json_type)
SELECT $1::uuid, n.key, n.json_type FROM unnest($2::text[], $3::text[]) AS n (key, json_type)
WHERE NOT EXISTS (
    SELECT 1 FROM lead_attribute_keys k
    WHERE k.account_id = $1 AND k.key = n.key AND k.json_type = n.json_type
)
"""
JSON_TYPES: dict[type, str] = {
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
    dict: "object",
    list: "array",
}

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


class _AttributeKeys:
    """The (key, JSON type) pairs of the attributes of the rows an import writes, as
    `jsonb_each` and `jsonb_typeof` would read them from `leads` (the catalogue's trigger)."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def add(self, records: list[LeadRecord]) -> None:
        pairs, types = self.pairs, JSON_TYPES
        for record in records:
            if attributes := record[5]:
                for key, value in orjson.loads(attributes).items():
                    pairs.add((key, types[type(value)]))

    async def note(self, conn: asyncpg.Connection, account_id: UUID) -> None:
        """Write the pairs the catalogue lacks (inside the import's transaction)."""
        if self.pairs:
            keys, types = zip(*sorted(self.pairs), strict=True)
            await conn.execute(NOTE_KEYS, account_id, list(keys), list(types))


class _Collector:
    """Gathers parsed rows into chunks of about `size` leads, one record per address (the
    file's last row for it wins), counting and listing rejections."""

    def __init__(
        self, report: ImportReport, size: int, max_listed: int, direct: _Direct | None
    ) -> None:
        self.report = report
        self.size = size
        self.max_listed = max_listed
        self.direct = direct
        self.keys = _AttributeKeys()
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
            records = list(self.records.values())
            self.keys.add(records)
            fresh, again, again_ids = (
                self.direct.route(records) if self.direct else ([], records, [])
            )
            chunk = _Chunk(records, self.valid, fresh, again, again_ids)
            self.records, self.valid = {}, 0
            return chunk
        return None


# A lead as COPY'd straight into `leads` (DIRECT_COLUMNS).
LeadRow = tuple[str, UUID, str, str | None, str | None, str | None, list[str], str]


@dataclass(frozen=True, slots=True)
class _Chunk:
    """A chunk as the parser hands it to the loader, its load path chosen ahead (the
    parser works while Postgres loads the chunk before)."""

    records: list[LeadRecord]  # one per address
    rows: int  # valid rows they came from
    fresh: list[LeadRow]  # to COPY into `leads`, if the import still may
    again: list[LeadRecord]  # the rest of `records`, for the upsert
    again_ids: list[str]  # with `fresh`: the ids `again`'s new leads take (else the default)


class _Written:
    """The addresses a first import has written by COPY, as Bloom filters (no false
    negatives; about 0.1 % false positives, which take the upsert).

    A filter holds `capacity` addresses; when full, another four times its size is
    added, so a filter is about 1.8 bytes per address (1.8 MB per million) and a check
    asks at most a few. Past `MAX_ADDRESSES` nothing more is added and every later row
    takes the upsert, which bounds the memory of any file (about 30 MB).
    """

    FIRST_CAPACITY = 1 << 18
    MAX_ADDRESSES = 1 << 24
    FALSE_POSITIVE_RATE = 0.001

    def __init__(self) -> None:
        self.filters = [Bloom(self.FIRST_CAPACITY, self.FALSE_POSITIVE_RATE)]
        self.room = self.FIRST_CAPACITY  # left in the newest filter
        self.total = 0

    def split(self, records: list[LeadRecord]) -> tuple[list[LeadRecord], list[LeadRecord]]:
        """(rows whose address this import surely has not written, the others)."""
        if self.total + len(records) > self.MAX_ADDRESSES:
            return [], records
        fresh: list[LeadRecord] = []
        again: list[LeadRecord] = []
        filters = self.filters
        for record in records:
            email = record[0]
            for bloom in filters:
                if email in bloom:
                    again.append(record)
                    break
            else:
                fresh.append(record)
        return fresh, again

    def add(self, records: list[LeadRecord]) -> None:
        """Note `records`' addresses as written."""
        start = 0
        while start < len(records):
            if not self.room:
                capacity = self.FIRST_CAPACITY * 4 ** len(self.filters)
                self.filters.append(Bloom(capacity, self.FALSE_POSITIVE_RATE))
                self.room = capacity
            part = records[start : start + self.room]
            self.filters[-1].update(record[0] for record in part)
            self.room -= len(part)
            self.total += len(part)
            start += len(part)


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
            # let the loader's COPY write what Postgres has room for before the next batch
            # is parsed: neither a stream that never waits nor a queue with room suspends us
            await asyncio.sleep(0)
        chunk = collector.take(final=True)
        if chunk:
            await queue.put(chunk)
        await queue.put(None)
    except Exception as exc:  # handed to the loader, which re-raises it
        await queue.put(exc)


class _Ids:
    """Time-ordered lead ids (UUID version 7, RFC 9562), made here instead of by the
    column's default (`fanout_uuid_v7()`, about 1 µs of Postgres CPU per lead): 48 bits
    of Unix milliseconds, the version, a 12-bit counter within the millisecond (the RFC's
    method 1; past 4,096 ids the millisecond moves on ahead of the clock, as it allows),
    the variant and 62 random bits. Each id is greater than the one before, so a bulk
    import's leads lie in the heap in id order (migration 0016)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self.clock = clock
        self.ms = 0
        self.counter = 0

    def take(self, count: int) -> list[str]:
        """`count` new ids, in increasing order, as the hexadecimal text asyncpg encodes."""
        now = self.clock() // 1_000_000
        if now > self.ms:
            self.ms, self.counter = now, 0
        randoms = struct.unpack(f">{count}Q", os.urandom(8 * count))
        ids = []
        ms, counter = self.ms, self.counter
        for random_bits in randoms:
            if counter > COUNTER_MAX:
                ms, counter = ms + 1, 0
            high = (ms << 16) | VERSION_7 | counter
            ids.append(f"{high:016x}{VARIANT | (random_bits & RANDOM_62):016x}")
            counter += 1
        self.ms, self.counter = ms, counter
        return ids


class _Direct:
    """A first import's COPY path (module docstring): which rows of a chunk may take it,
    built as `leads` rows. No more chunks are routed to a COPY once one meets an existing
    lead (`conflict`: the chunks routed before it take the upsert too) or once
    `MAX_COPIES` have been.

    Each COPY runs in a savepoint, and each savepoint that writes is a subtransaction
    with an id of its own. Postgres keeps up to 64 of a transaction's subtransaction ids
    in shared memory; past that its snapshots are marked overflowed, and while the
    transaction runs, every session (and a hot standby) resolves in-progress rows through
    `pg_subtrans`, a known slowdown under load. So an import takes at most `MAX_COPIES`
    savepoints (1.2M rows in chunks of 20,000), and its later chunks take the upsert.
    """

    MAX_COPIES = 60

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.written = _Written()
        self.ids = _Ids()
        self.routing = True
        self.conflict = False
        self.copies = 0  # chunks routed to a COPY

    def route(self, records: list[LeadRecord]) -> tuple[list[LeadRow], list[LeadRecord], list[str]]:
        """(COPY rows for the addresses this import surely has not written, the others,
        the ids of the others if they make new leads).

        The others' ids follow the COPY rows' ids: the upsert writes them right after the
        COPY, so every index on the id still grows at its right edge (with ids from the
        column's default, made when the upsert runs, a chunk's COPY rows routed earlier
        sorted before them: the primary key's pages split in the middle, 55 % full).
        """
        if self.routing and self.copies >= self.MAX_COPIES:
            log.info("lead_import_upserts_from_here", reason="savepoints", copies=self.copies)
            self.routing = False
        if not self.routing:
            return [], records, []
        fresh, again = self.written.split(records)
        self.copies += 1 if fresh else 0
        self.written.add(fresh)  # if their COPY fails, routing ends and this is moot
        ids = self.ids.take(len(fresh) + len(again))
        fresh_ids, again_ids = ids[: len(fresh)], ids[len(fresh) :]
        account = self.account_id
        rows: list[LeadRow] = [
            (lead_id, account, email, first, last, country, tags or NO_TAGS, attrs or NO_ATTRIBUTES)
            for lead_id, (email, first, last, country, tags, attrs) in zip(
                fresh_ids, fresh, strict=True
            )
        ]
        return rows, again, again_ids


async def _merge(
    conn: asyncpg.Connection,
    account_id: UUID,
    records: list[LeadRecord],
    update: bool,
    ids: list[str] | None = None,
) -> tuple[int, int, int]:
    """The upsert of `records`: (created, updated, skipped). `ids`: those of the new leads
    among them (else the column's default)."""
    if ids:
        staged = [(*record, lead_id) for record, lead_id in zip(records, ids, strict=True)]
        await conn.copy_records_to_table(STAGING, records=staged, columns=COLUMNS_WITH_IDS)
        counts = await conn.fetchrow(MERGE_WITH_IDS, account_id, update, len(records))
    else:
        await conn.copy_records_to_table(STAGING, records=records, columns=COLUMNS)
        counts = await conn.fetchrow(MERGE, account_id, update, len(records))
    await conn.execute(f"TRUNCATE {STAGING}")
    return counts["created"], counts["updated"], counts["skipped"]


async def _copy_new(conn: asyncpg.Connection, rows: list[LeadRow]) -> bool:
    """COPY `rows` (new addresses) straight into `leads`; False, with nothing written,
    when one of them is a lead already (another writer made it meanwhile)."""
    try:
        async with conn.transaction():  # a savepoint
            await conn.copy_records_to_table("leads", records=rows, columns=DIRECT_COLUMNS)
    except asyncpg.UniqueViolationError:
        return False
    return True


class _Loader:
    """Loads chunks into one account's leads, by COPY while it may (module docstring)."""

    def __init__(
        self, conn: asyncpg.Connection, account_id: UUID, update: bool, direct: _Direct | None
    ) -> None:
        self.conn = conn
        self.account_id = account_id
        self.update = update
        self.direct = direct
        self.copied = 0  # rows that went straight into `leads`

    async def load(self, chunk: _Chunk) -> tuple[int, int, int]:
        """(created, updated, skipped) for one chunk."""
        copied, records, ids = 0, chunk.again, chunk.again_ids
        if chunk.fresh and self.direct and not self.direct.conflict:
            if await _copy_new(self.conn, chunk.fresh):
                copied = len(chunk.fresh)
                self.copied += copied
            else:
                log.info("lead_import_upserts_from_here", reason="conflict", copied=self.copied)
                self.direct.conflict, self.direct.routing = True, False
                records, ids = chunk.records, []
        elif chunk.fresh:  # routed before an earlier chunk's COPY failed
            records, ids = chunk.records, []
        if not records:
            return copied, 0, 0
        created, updated, skipped = await _merge(
            self.conn, self.account_id, records, self.update, ids
        )
        return created + copied, updated, skipped


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
    queue: asyncio.Queue[_Chunk | BaseException | None] = asyncio.Queue(maxsize=2)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(CREATE_STAGING)
        await conn.execute(KEYS_NOTED)
        direct = None if await conn.fetchval(HAS_LEADS, account_id) else _Direct(account_id)
        collector = _Collector(report, chunk_rows, max_listed, direct)
        loader = _Loader(conn, account_id, on_conflict is OnConflict.UPDATE, direct)
        parser = asyncio.create_task(_parse_into(queue, fmt, chunks, collector))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                created, updated, skipped = await loader.load(item)
                report.created += created
                report.updated += updated
                report.skipped += skipped
                report.accepted += item.rows
        finally:
            parser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await parser
        await collector.keys.note(conn, account_id)
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
