"""Sending domains: the domains an account sends from, each verified through DNS.

- One row per (account, domain) registration, with its random ownership token and
  its DKIM key pair (the private key sealed, `services/campaign_api/domains/dkim.py`).
- `verified_at` is set once the domain's DNS records were found. The partial unique
  index makes a verified domain one account's: a second account's verification of
  the same name fails on it (409), whatever the timing of the two requests.

Create Date: 2026-12-10
"""

from shared.migrations.postgres.ddl import CREATED_AT, account_table, drop_tables, execute

revision = "0007_sending_domains"
down_revision = "0006_send_batch_ledger"


def upgrade() -> None:
    execute(
        account_table(
            "sending_domains",
            "name text NOT NULL",
            "verification_token text NOT NULL",
            "dkim_selector text NOT NULL",
            "dkim_public_key text NOT NULL",
            "dkim_private_key bytea NOT NULL",
            CREATED_AT,
            "verified_at timestamptz",
            "CONSTRAINT sending_domains_account_name UNIQUE (account_id, name)",
        ),
        "CREATE UNIQUE INDEX sending_domains_verified_name ON sending_domains (name) "
        "WHERE verified_at IS NOT NULL",
    )


def downgrade() -> None:
    drop_tables("sending_domains")
