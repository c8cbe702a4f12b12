"""The ledger's per-recipient detail is kept as the JSON text the sender wrote, not jsonb.

`send_batch_outcomes.detail` is written once per send batch (50 recipients, about 7 KB)
and read back only by a replay of that batch, as text; nothing queries into it. As jsonb,
Postgres parsed every batch's detail into its binary form (and printed it back as text on
a replay). The sender's record statement, side by side on scratch copies of the ledger
tables, three runs: 3.45 → 2.76, 3.29 → 2.66 and 5.41 → 4.92 µs of execution per email
(bench/results/20261202T1755Z-ledger-detail-text): small, and work for nothing. The
sender writes it with orjson, so it is valid JSON either way; a replay decodes it the
same way.

Revision ID: 0014_ledger_detail_text
Revises: 0013_reputation
Create Date: 2026-12-02
"""

from shared.migrations.postgres.ddl import execute

revision = "0014_ledger_detail_text"
down_revision = "0013_reputation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute("ALTER TABLE send_batch_outcomes ALTER COLUMN detail TYPE text USING detail::text")


def downgrade() -> None:
    execute("ALTER TABLE send_batch_outcomes ALTER COLUMN detail TYPE jsonb USING detail::jsonb")
