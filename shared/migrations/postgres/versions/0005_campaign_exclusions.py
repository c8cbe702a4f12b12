"""Campaign exclusions: leads the condition matched but the resolver left out, by reason.

`matched` becomes every lead the condition matched; `excluded` counts those left out
at resolve time (suppressed, unsubscribed, an address the API would refuse, a
duplicate address in the same slice of the audience), with one column per reason.
The lead resolver adds to them in the same statement that advances its checkpoint,
so they are exact after any crash; the completion rule accounts them.

Create Date: 2026-11-25
"""

from alembic import op

revision = "0005_campaign_exclusions"
down_revision = "0004_campaign_template_account"

COLUMNS = (
    "excluded",
    "excluded_suppressed",
    "excluded_unsubscribed",
    "excluded_invalid_email",
    "excluded_duplicate",
)


def upgrade() -> None:
    adds = ", ".join(f"ADD COLUMN {name} bigint NOT NULL DEFAULT 0" for name in COLUMNS)
    op.execute(f"ALTER TABLE campaigns {adds}")


def downgrade() -> None:
    drops = ", ".join(f"DROP COLUMN IF EXISTS {name}" for name in COLUMNS)
    op.execute(f"ALTER TABLE campaigns {drops}")
