"""Campaign-level reads on the send path (issue 17): nothing that grows with the campaign.

- `campaigns.batches_counted`: how many of the campaign's `send_batch_outcomes` rows are
  counted, moved by the sender's counting flush in the statement that marks them. The
  lead resolver's window (batches emitted and not yet counted) reads it instead of
  counting the campaign's rows on every step; existing rows are counted here once.
- `leads_unsubscribed`: a partial index of the leads that unsubscribed, so the sender's
  screening of a batch (which of its 50 leads unsubscribed since the launch) probes a
  small index instead of fetching 50 lead rows.

Revision ID: 0011_campaign_level_counts
Revises: 0010_provider_configs
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011_campaign_level_counts"
down_revision = "0010_provider_configs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE campaigns ADD COLUMN batches_counted bigint NOT NULL DEFAULT 0")
    op.execute(
        "UPDATE campaigns c SET batches_counted = o.batches "
        "FROM (SELECT campaign_id, count(*) AS batches FROM send_batch_outcomes "
        "      WHERE counted GROUP BY campaign_id) o "
        "WHERE c.id = o.campaign_id"
    )
    op.execute("CREATE INDEX leads_unsubscribed ON leads (id) WHERE unsubscribed_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX leads_unsubscribed")
    op.execute("ALTER TABLE campaigns DROP COLUMN batches_counted")
