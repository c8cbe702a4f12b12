"""Send path: batches parked when the provider stops all sending (re-emitted on resume/cancel).

Create Date: 2026-11-24
"""

from alembic import op

from shared.migrations.postgres.ddl import batch_table, drop_tables

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # One row per send batch whose recipients got no outcome because the provider refused
    # all sending (ProviderStopped). The lead resolver re-emits them under fresh batch
    # numbers when the campaign is resumed or cancelled, then deletes the row.
    op.execute(
        batch_table(
            "send_batch_deferrals",
            "recipients jsonb NOT NULL",
            "reason text NOT NULL DEFAULT ''",
            "deferred_at timestamptz NOT NULL DEFAULT now()",
        )
    )


def downgrade() -> None:
    drop_tables("send_batch_deferrals")
