"""New leads get time-ordered ids (UUID version 7) instead of random ones (version 4).

The resolver reads a campaign's audience in id order (`leads_account_id`, keyset pages of
1,000), fetching each lead's row from the heap. With random ids that order is random over
the account's heap: at 1M leads (about 35,000 heap pages, more than `shared_buffers`) the
resolver's 1,000 pages read 216,000–227,000 blocks from outside Postgres's buffers. Ids
that grow with the time a lead was written put a bulk import's leads in id order where
they sit in the heap, so the pages walk the heap once: 42,000–73,000 blocks read, the
pages' execution 10.4–11.2 → 5.5–6.8 s and the resolver's sessions 5.2–5.6 → 3.1–4.0 µs
of Postgres CPU per email (bench/results/20261204T1209Z-lead-ids-v7, three 1M runs each
way). The primary key's inserts also go to its right edge instead of a random leaf: the
import's merge 24.0–24.6 → 20.9–21.7 s.

`fanout_uuid_v7()` follows RFC 9562: 48 bits of Unix milliseconds, the version (7), 12
bits of the sub-millisecond fraction (its method 3, as PostgreSQL 18's `uuidv7()`; steps
of 244 ns, finer than one id's cost, so ids made one after another increase), then 62
random bits and the variant, taken from `gen_random_uuid()`. The ids stay unguessable (62
random bits) but tell when the lead was written, as its `created_at` does. Leads written
before keep their ids.

Revision ID: 0016_lead_ids_in_time_order
Revises: 0015_ledger_detail_lz4
Create Date: 2026-12-04
"""

from shared.migrations.postgres.ddl import execute

revision = "0016_lead_ids_in_time_order"
down_revision = "0015_ledger_detail_lz4"
branch_labels = None
depends_on = None

# plpgsql, so the clock is read once per id (a SQL function would read it twice, or pay
# for a nested call: 2.4 µs per id against 1.0 here, on top of gen_random_uuid()'s 0.8)
UUID_V7 = """
CREATE FUNCTION fanout_uuid_v7() RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
    us bigint := (date_part('epoch', clock_timestamp()) * 1000000)::bigint;
BEGIN
    RETURN encode(
        overlay(uuid_send(gen_random_uuid())
                PLACING int8send(((us / 1000) << 16) | 28672 | ((us % 1000) * 4096 / 1000))
                FROM 1 FOR 8),
        'hex')::uuid;
END
$$
"""


def upgrade() -> None:
    execute(UUID_V7)
    execute("ALTER TABLE leads ALTER COLUMN id SET DEFAULT fanout_uuid_v7()")


def downgrade() -> None:
    execute("ALTER TABLE leads ALTER COLUMN id SET DEFAULT gen_random_uuid()")
    execute("DROP FUNCTION fanout_uuid_v7()")
