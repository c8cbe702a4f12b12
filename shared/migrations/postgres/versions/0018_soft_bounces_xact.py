"""Soft-bounce runs carry the transaction that wrote them, so webhook_ingest knows which
addresses have a run without a probe per delivered address.

Each delivery ends its address's soft-bounce run, if the address has one: webhook_ingest
probed `soft_bounces` once per delivered address (about 1.2 µs of Postgres CPU each, the
largest part of its sessions' cost), though only the few addresses that ever soft-bounced
have a row. Now each instance keeps a Bloom filter of the table's keys, read once, then
kept up by reading the rows written by transactions its last read could not see; only
the addresses the filter may hold are probed (`services/webhook_ingest/known_runs.py`).

- `soft_bounces.xact`: the id of the transaction that inserted the row
  (`pg_current_xact_id()`, an `xid8`, which never wraps around). Rows written before
  this migration read 0: the filter's first read takes every row whatever its `xact`.
  Indexed alone: the catch-up reads by transaction, across accounts.

Revision ID: 0018_soft_bounces_xact
Revises: 0017_screening_since_resolved
Create Date: 2026-12-04
"""

from shared.migrations.postgres.ddl import execute

revision = "0018_soft_bounces_xact"
down_revision = "0017_screening_since_resolved"
branch_labels = None
depends_on = None

# the constant default first (no rewrite of the table; old rows read 0), then the default
# of new rows
UPGRADE = [
    "ALTER TABLE soft_bounces ADD COLUMN xact xid8 NOT NULL DEFAULT '0'",
    "ALTER TABLE soft_bounces ALTER COLUMN xact SET DEFAULT pg_current_xact_id()",
    "CREATE INDEX soft_bounces_xact ON soft_bounces (xact)",
]


def upgrade() -> None:
    for statement in UPGRADE:
        execute(statement)


def downgrade() -> None:
    execute("ALTER TABLE soft_bounces DROP COLUMN xact")  # its index with it
