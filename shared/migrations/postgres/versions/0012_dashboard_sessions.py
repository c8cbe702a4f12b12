"""Sessions of the web dashboard (campaign_api under `/app`, docs/dashboard.md).

- One row per signed-in browser. The browser holds a random token in an HttpOnly
  cookie; the row holds only its SHA-256 (`token_hash`), so a copy of the table opens
  no session.
- The API key the person signed in with is kept sealed (`shared/sealing.py`, under
  `FANOUT_SESSION_KEY`, with the id of the key that sealed it): the dashboard acts
  through the campaign API and the reports API with it, scoped exactly as those APIs
  scope the key. A revoked key ends its sessions (`api_key_id`; revoking or deleting
  the key is seen at the next request); deleting the account deletes them.
- `csrf_token`: the session's synchronizer token, required with every state-changing
  request of the dashboard.
- A session ends at sign-out (row deleted), after `idle` without a request
  (`last_seen_at`) or at `expires_at`, whichever comes first; expired rows are purged
  by campaign_api (`expires_at` index).

Revision ID: 0012_dashboard_sessions
Revises: 0011_campaign_level_counts
Create Date: 2026-12-02
"""

from alembic import op

revision = "0012_dashboard_sessions"
down_revision = "0011_campaign_level_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE dashboard_sessions (
            token_hash bytea PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            api_key_id uuid NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
            sealed_key bytea NOT NULL,
            sealed_key_id text NOT NULL,
            csrf_token text NOT NULL,
            created_at timestamptz NOT NULL,
            last_seen_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at)")
    op.execute("CREATE INDEX dashboard_sessions_key ON dashboard_sessions (api_key_id)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS dashboard_sessions")
