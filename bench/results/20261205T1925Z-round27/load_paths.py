"""Postgres's side of a million-lead import, by load path, in a scratch database.

    python load_paths.py N merge,direct,direct_ids,...

The realistic leads of `fanout bench` (seed 1) are parsed by the importer's own parser
first (not timed) into chunks of 20,000 records. Each variant then loads them into an
empty `leads` of a new account inside one transaction that is rolled back (then `VACUUM
leads`), and prints the wall time and the CPU of every Postgres process over it:

- merge: the importer's path (binary COPY into the staging table, then its upsert).
- direct: binary COPY straight into `leads` (ids from the column's default).
- direct_ids: the same with the ids made by the client (UUID version 7).
- direct_ids-X: direct_ids in a transaction that first drops X (then rolled back):
  fk (the foreign key to accounts), gin_attr, gin_tags, acct_id, country, created,
  email (the unique key on account and address), triggers (the statement-level ones);
  direct_ids-work_mem: with `work_mem` at 64MB for the transaction instead;
  direct_ids-noop_keys: the attribute-keys trigger's function returning at once (its
  transition table is still filled); direct_ids-object_keys: that function reading keys
  with `jsonb_object_keys` and each value's type by key; direct_ids-row_when: the
  insert trigger row-level, with a WHEN that the transaction's mark makes false.

Round 27 (2026-12-05) added, each with the importer's mark set as the importer sets it:
direct_ids-noted (the importer's COPY as it ran at 0019), direct_ids-notedfk (the same
without the foreign key to accounts), direct_ids-notedtrig (without the key, the
accounts checked per statement over the transition table instead, as migration 0020's
trigger does).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from proc_figures import postgres_cpu, say

from fanout_cli.bench.scratch import scratch_database
from fanout_cli.demo.leads import jsonl_chunks
from services.campaign_api.leads import importer
from services.campaign_api.leads.parsing import ImportFormat, parse_rows
from shared.auth import create_account
from shared.settings import CommonSettings

CHUNK = 20_000
DIRECT = ("account_id", *importer.COLUMNS)
DIRECT_IDS = ("id", *DIRECT)
DROPS = {
    "fk": "ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey",
    "gin_attr": "DROP INDEX leads_attributes",
    "gin_tags": "DROP INDEX leads_tags",
    "acct_id": "DROP INDEX leads_account_id",
    "country": "DROP INDEX leads_account_country",
    "created": "DROP INDEX leads_account_created",
    "email": "ALTER TABLE leads DROP CONSTRAINT leads_account_email",
    "triggers": "ALTER TABLE leads DISABLE TRIGGER USER",
    "noted": "SELECT set_config('fanout.attribute_keys_noted', 'on', true)",
    "notedfk": "SELECT set_config('fanout.attribute_keys_noted', 'on', true); "
    "ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey",
    "notedtrig": """SELECT set_config('fanout.attribute_keys_noted', 'on', true);
ALTER TABLE leads DROP CONSTRAINT leads_account_id_fkey;
CREATE OR REPLACE FUNCTION note_lead_attribute_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE wanted uuid[]; found int;
BEGIN
    SELECT array_agg(DISTINCT account_id) INTO wanted FROM new_rows;
    SELECT count(*) INTO found FROM (SELECT 1 FROM accounts WHERE id = ANY(wanted) FOR KEY SHARE) l;
    IF found < coalesce(cardinality(wanted), 0) THEN
        RAISE EXCEPTION 'no such account' USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF current_setting('fanout.attribute_keys_noted', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RETURN NULL;
END
$$""",
    "work_mem": "SET LOCAL work_mem = '64MB'",  # not a drop: the transition tables in memory
    # not drops: the attribute-keys trigger's function replaced for the transaction
    "noop_keys": "CREATE OR REPLACE FUNCTION note_lead_attribute_keys() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    # row-level triggers whose WHEN is false when the writer marked its transaction: no
    # transition table to fill (the row function itself is never called here)
    "row_when": """
DROP TRIGGER leads_note_attribute_keys_insert ON leads;
CREATE TRIGGER leads_note_attribute_keys_insert AFTER INSERT ON leads FOR EACH ROW
WHEN (current_setting('fanout.attribute_keys_noted', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION note_lead_attribute_keys();
SELECT set_config('fanout.attribute_keys_noted', 'on', true)""",
    "object_keys": """
CREATE OR REPLACE FUNCTION note_lead_attribute_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_attribute_keys (account_id, key, json_type)
    SELECT s.account_id, s.key, s.json_type
    FROM (
        SELECT DISTINCT n.account_id, k.key, jsonb_typeof(n.attributes -> k.key) AS json_type
        FROM new_rows n, jsonb_object_keys(n.attributes) AS k(key)
    ) s
    WHERE NOT EXISTS (
        SELECT 1 FROM lead_attribute_keys k
        WHERE k.account_id = s.account_id AND k.key = s.key AND k.json_type = s.json_type
    );
    RETURN NULL;
END
$$""",
}


def uuid7s(count: int) -> list[uuid.UUID]:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(8 * count), "big")
    out = []
    for k in range(count):
        r = (rand >> (64 * k)) & ((1 << 62) - 1)
        seq = k & 0xFFF
        out.append(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | r))
    return out


async def source(n: int) -> AsyncIterator[bytes]:
    for chunk in jsonl_chunks(n, seed=1, chunk_rows=5000):
        yield chunk


async def chunks(n: int) -> list[list[Any]]:
    out: list[list[Any]] = [[]]
    async for batch in parse_rows(ImportFormat.JSONL, source(n)):
        for record in batch.records:
            if len(out[-1]) >= CHUNK:
                out.append([])
            out[-1].append(record)
    return out


async def main() -> None:
    n, order = int(sys.argv[1]), sys.argv[2].split(",")
    parsed = await chunks(n)
    async with scratch_database(CommonSettings().database_url) as scratch:
        account, _ = await create_account(scratch.pool, "load-paths")
        async with scratch.pool.acquire() as conn:
            for name in order:
                rows = [[(account, *r) for r in c] for c in parsed] if name != "merge" else parsed
                base, _, drop = name.partition("-")
                if base == "direct_ids":
                    rows = [[(i, *r) for i, r in zip(uuid7s(len(c)), c, strict=True)] for c in rows]
                transaction = conn.transaction()
                await transaction.start()
                if drop:
                    await conn.execute(DROPS[drop])
                pg, started = postgres_cpu(), time.perf_counter()
                if name == "merge":
                    await conn.execute(importer.CREATE_STAGING)
                    for records in rows:
                        await conn.copy_records_to_table(
                            importer.STAGING, records=records, columns=importer.COLUMNS
                        )
                        await conn.fetchrow(importer.MERGE, account, True, len(records))
                        await conn.execute(f"TRUNCATE {importer.STAGING}")
                else:
                    columns = DIRECT_IDS if base == "direct_ids" else DIRECT
                    for records in rows:
                        await conn.copy_records_to_table("leads", records=records, columns=columns)
                wall, pg = time.perf_counter() - started, postgres_cpu() - pg
                await transaction.rollback()
                await conn.execute("VACUUM leads")
                say(f"{name:20s} {wall:5.1f} s, Postgres {pg / n * 1e6:.1f} µs of CPU per row")


if __name__ == "__main__":
    asyncio.run(main())
