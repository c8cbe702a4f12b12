"""Sending domains: the domains an account sends from, each verified through DNS.

- One row per (account, domain) registration, with its random ownership token and
  its DKIM key pair (the private key sealed, `services/campaign_api/domains/dkim.py`).
- `verified_at` is set once the domain's DNS records were found. The partial unique
  index makes a verified domain one account's: a second account's verification of
  the same name fails on it (409), whatever the timing of the two requests.

Revision ID: 0007_sending_domains
Revises: 0006_send_batch_ledger
Create Date: 2026-12-10
"""

from alembic import op

revision = "0007_sending_domains"
down_revision = "0006_send_batch_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE sending_domains (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name text NOT NULL,
            verification_token text NOT NULL,
            dkim_selector text NOT NULL,
            dkim_public_key text NOT NULL,
            dkim_private_key bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            verified_at timestamptz,
            CONSTRAINT sending_domains_account_name UNIQUE (account_id, name)
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX sending_domains_verified_name ON sending_domains (name) "
        "WHERE verified_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS sending_domains")
