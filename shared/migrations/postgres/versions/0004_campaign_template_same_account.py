"""A campaign's template belongs to the campaign's account, enforced by the schema.

`campaigns.template_id` referenced `templates(id)` alone, so only the API's check kept a
campaign on a template of its own account; a statement that skipped it (a bug, a
script) could send one account's mail with another's template. The reference is now
the composite `(account_id, template_id)` → `templates(account_id, id)`.

The other references stay inside one account by construction and need no change:
api keys, leads, suppressions and soft bounces reference only `accounts`; soft-bounce
events reference their run by `(account_id, email)`; batch outcomes and deferrals
reference only their campaign. `campaigns.checkpoint_lead_id` is a
resume position, not a reference: the lead may be deleted while the campaign runs.

Create Date: 2026-12-01
"""

from alembic import op

revision = "0004_campaign_template_account"
down_revision = "0003_soft_bounce_events"


def upgrade() -> None:
    # the unique constraint's index replaces the plain one on the same columns
    op.execute("DROP INDEX IF EXISTS templates_account")
    op.execute(
        "ALTER TABLE templates ADD CONSTRAINT templates_account_id_id UNIQUE (account_id, id)"
    )
    op.execute("ALTER TABLE campaigns DROP CONSTRAINT campaigns_template_id_fkey")
    op.execute(
        "ALTER TABLE campaigns ADD CONSTRAINT campaigns_template_same_account "
        "FOREIGN KEY (account_id, template_id) REFERENCES templates (account_id, id)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE campaigns DROP CONSTRAINT campaigns_template_same_account")
    op.execute(
        "ALTER TABLE campaigns ADD CONSTRAINT campaigns_template_id_fkey "
        "FOREIGN KEY (template_id) REFERENCES templates (id)"
    )
    op.execute("ALTER TABLE templates DROP CONSTRAINT templates_account_id_id")
    op.execute("CREATE INDEX templates_account ON templates (account_id, id)")
