"""Send path: batches parked when the provider stops all sending (re-emitted on resume/cancel).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per send batch whose recipients got no outcome because the provider refused
    # all sending (ProviderStopped). The lead resolver re-emits them under fresh batch
    # numbers when the campaign is resumed or cancelled, then deletes the row.
    op.execute(
        """
        CREATE TABLE send_batch_deferrals (
            campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
            batch_no bigint NOT NULL,
            recipients jsonb NOT NULL,
            reason text NOT NULL DEFAULT '',
            deferred_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (campaign_id, batch_no)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS send_batch_deferrals")
