"""The sender's batch ledger: outcomes recorded before publication, in-flight calls, provider waits.

- `send_batch_outcomes` becomes the durable record of a finished batch, written by the
  sender before its outcome events are published: `detail` holds each recipient's
  outcome (lead, email, type, provider message id, reason) until the events were
  acknowledged and counted; `counted` says whether the campaign counters include the
  row. Rows written before this migration were counted when they were written
  (the old flush did both at once), hence the default `true`; the sender inserts
  `false` and the counting flush flips it and drops `detail`.
- `send_batch_attempts`: one row per batch whose ESP call may be in flight, written
  before the first call and deleted with the outcome; a replay finds it and repeats
  exactly that call rather than screening its recipients again.
- `campaigns.provider_wait_*`: a lease the sender renews about once a second while
  batches of the campaign back off because the provider throttles or fails transiently.

Create Date: 2026-12-08
"""

from alembic import op

from shared.migrations.postgres.ddl import batch_table, drop_tables

revision = "0006_send_batch_ledger"
down_revision = "0005_campaign_exclusions"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE send_batch_outcomes "
        "ADD COLUMN counted boolean NOT NULL DEFAULT true, ADD COLUMN detail jsonb"
    )
    op.execute(
        batch_table(
            "send_batch_attempts",
            "lead_ids uuid[] NOT NULL",
            "started_at timestamptz NOT NULL DEFAULT now()",
        )
    )
    op.execute(
        "ALTER TABLE campaigns ADD COLUMN provider_wait_reason text, "
        "ADD COLUMN provider_wait_since timestamptz, ADD COLUMN provider_wait_until timestamptz"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE campaigns DROP COLUMN provider_wait_reason, "
        "DROP COLUMN provider_wait_since, DROP COLUMN provider_wait_until"
    )
    drop_tables("send_batch_attempts")
    op.execute("ALTER TABLE send_batch_outcomes DROP COLUMN counted, DROP COLUMN detail")
