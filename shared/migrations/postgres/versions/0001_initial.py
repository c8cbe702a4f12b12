"""Initial schema: accounts, API keys, leads, templates, campaigns, outbox, suppressions.

Create Date: 2026-11-23
"""

from shared.migrations.postgres.ddl import (
    CREATED_AT,
    ID,
    UPDATED_AT,
    account_table,
    address_table,
    batch_table,
    create_table,
    drop_tables,
    execute,
)

revision = "0001"
down_revision = None

STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    create_table("accounts", ID, "name text NOT NULL", CREATED_AT),
    account_table(
        "api_keys",
        "name text NOT NULL DEFAULT 'default'",
        "prefix text NOT NULL",
        "key_hash bytea NOT NULL UNIQUE",
        CREATED_AT,
        "last_used_at timestamptz",
        "revoked_at timestamptz",
    ),
    "CREATE INDEX api_keys_account ON api_keys (account_id)",
    account_table(
        "leads",
        "email text NOT NULL",
        "first_name text",
        "last_name text",
        "country text",
        "tags text[] NOT NULL DEFAULT '{}'",
        "attributes jsonb NOT NULL DEFAULT '{}'::jsonb",
        CREATED_AT,
        UPDATED_AT,
        "unsubscribed_at timestamptz",
        "CONSTRAINT leads_account_email UNIQUE (account_id, email)",
    ),
    # keyset pagination and resolver streaming walk (account_id, id)
    "CREATE INDEX leads_account_id ON leads (account_id, id)",
    "CREATE INDEX leads_account_country ON leads (account_id, country)",
    "CREATE INDEX leads_account_created ON leads (account_id, created_at)",
    "CREATE INDEX leads_tags ON leads USING gin (tags)",
    "CREATE INDEX leads_attributes ON leads USING gin (attributes jsonb_path_ops)",
    account_table(
        "templates",
        "name text NOT NULL",
        "subject text NOT NULL",
        "html_body text NOT NULL DEFAULT ''",
        "text_body text NOT NULL DEFAULT ''",
        CREATED_AT,
        UPDATED_AT,
    ),
    "CREATE INDEX templates_account ON templates (account_id, id)",
    account_table(
        "campaigns",
        """
        name text NOT NULL,
        from_email text NOT NULL,
        from_name text NOT NULL DEFAULT '',
        reply_to text,
        template_id uuid NOT NULL REFERENCES templates(id),
        condition jsonb NOT NULL,
        provider text NOT NULL DEFAULT 'simulator',
        state text NOT NULL DEFAULT 'draft',
        scheduled_at timestamptz,
        run_id uuid,
        matched bigint,
        enqueued bigint NOT NULL DEFAULT 0,
        sent bigint NOT NULL DEFAULT 0,
        failed bigint NOT NULL DEFAULT 0,
        suppressed bigint NOT NULL DEFAULT 0,
        cancelled bigint NOT NULL DEFAULT 0,
        batches_emitted bigint NOT NULL DEFAULT 0,
        checkpoint_lead_id uuid,
        resolve_done boolean NOT NULL DEFAULT false,
        state_reason text
        """,
        CREATED_AT,
        UPDATED_AT,
        "launched_at timestamptz",
        "completed_at timestamptz",
    ),
    "CREATE INDEX campaigns_account_created ON campaigns (account_id, created_at DESC, id)",
    "CREATE INDEX campaigns_active ON campaigns (state) WHERE state IN "
    "('queued', 'scheduled', 'resolving', 'sending', 'paused')",
    # Exact, idempotent completion accounting: one row per send batch, upserted by the
    # sender; the sum of terminal outcomes over a campaign's batches equals the number of
    # leads with a terminal outcome, however often a batch was redelivered.
    batch_table(
        "send_batch_outcomes",
        "sent int NOT NULL DEFAULT 0",
        "failed int NOT NULL DEFAULT 0",
        "suppressed int NOT NULL DEFAULT 0",
        "cancelled int NOT NULL DEFAULT 0",
        "recorded_at timestamptz NOT NULL DEFAULT now()",
    ),
    # Transactional outbox: a launch/pause/resume/cancel is a row written in the same
    # transaction as the state change; a relay publishes it to Kafka and marks it.
    create_table(
        "outbox",
        "id bigserial PRIMARY KEY",
        "topic text NOT NULL",
        "key bytea",
        "payload bytea NOT NULL",
        CREATED_AT,
        "published_at timestamptz",
    ),
    "CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL",
    address_table(
        "suppressions", "reason text NOT NULL", "source text NOT NULL DEFAULT 'api'", CREATED_AT
    ),
    address_table(
        "soft_bounces",
        "consecutive int NOT NULL DEFAULT 0",
        "last_event_id uuid",
        UPDATED_AT,
    ),
]

TABLES = [
    "soft_bounces",
    "suppressions",
    "outbox",
    "send_batch_outcomes",
    "campaigns",
    "templates",
    "leads",
    "api_keys",
    "accounts",
]


def upgrade() -> None:
    execute(*STATEMENTS)


def downgrade() -> None:
    drop_tables(*TABLES)
