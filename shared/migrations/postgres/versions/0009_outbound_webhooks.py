"""Outbound webhooks: the campaign change log, endpoints, deliveries and their attempts.

- `campaign_changes`: one row per applied campaign move, written by `shared.campaigns`
  in the same statement as the move, so it exists exactly when the move committed
  (pg_notify is not durable). The notifier turns each row into webhook deliveries and
  marks it (`notified_at`) in one transaction.
- `webhook_endpoints`: an account's receivers, the event types each wants, its signing
  secret encrypted at rest (Fernet token; `previous_secret` signs too until
  `previous_secret_expires_at`, after a rotation), and its failure streak.
- `webhook_deliveries`: one webhook message (its `id` is the `webhook-id` header, stable
  across retries and replays) with its body as sent, its status and next attempt.
- `webhook_attempts`: the delivery log, one row per HTTP attempt.
- `notifier_offsets`: per partition of `email.events`, the next offset whose events the
  notifier has not applied; written in the transaction that applies them, so a record
  redelivered by Kafka never makes a second delivery nor counts twice.
- `campaign_feedback_counts`: per campaign, the provider feedback counted so far
  (delivered, bounced, complained, ...), for the summary of `campaign.completed`.

Create Date: 2026-12-10
"""

from shared.migrations.postgres.ddl import (
    ACCOUNT_ID,
    CAMPAIGN_ID,
    CREATED_AT,
    UPDATED_AT,
    account_table,
    create_table,
    drop_tables,
    execute,
)

revision = "0009_outbound_webhooks"
down_revision = "0008_idempotency_attribute_keys"

FEEDBACK = ("delivered", "bounced", "complained", "opened", "clicked", "unsubscribed")


def upgrade() -> None:
    execute(
        create_table(
            "campaign_changes",
            "id bigserial PRIMARY KEY",
            CAMPAIGN_ID,
            "account_id uuid NOT NULL",
            "action text NOT NULL",
            "state text NOT NULL",
            "reason text",
            "run_id uuid",
            "occurred_at timestamptz NOT NULL DEFAULT now()",
            "notified_at timestamptz",
        ),
        "CREATE INDEX campaign_changes_pending ON campaign_changes (id) WHERE notified_at IS NULL",
        account_table(
            "webhook_endpoints",
            "url text NOT NULL",
            "description text NOT NULL DEFAULT ''",
            "event_types text[] NOT NULL",
            "status text NOT NULL DEFAULT 'enabled'",
            "disabled_reason text",
            "disabled_at timestamptz",
            "secret bytea NOT NULL",
            "previous_secret bytea",
            "previous_secret_expires_at timestamptz",
            "failing_since timestamptz",
            "consecutive_failures int NOT NULL DEFAULT 0",
            CREATED_AT,
            UPDATED_AT,
        ),
        "CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, id)",
        create_table(
            "webhook_deliveries",
            "id uuid PRIMARY KEY",
            "endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE",
            ACCOUNT_ID,
            "event_type text NOT NULL",
            "events int NOT NULL DEFAULT 1",
            "body text NOT NULL",
            "status text NOT NULL DEFAULT 'pending'",
            "attempts int NOT NULL DEFAULT 0",
            "round_attempts int NOT NULL DEFAULT 0",
            "next_attempt_at timestamptz NOT NULL",
            "last_attempt_at timestamptz",
            "last_status_code int",
            "last_error text",
            CREATED_AT,
            "completed_at timestamptz",
        ),
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
        "WHERE status = 'pending'",
        "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries "
        "(endpoint_id, created_at DESC, id DESC)",
        create_table(
            "webhook_attempts",
            "id bigserial PRIMARY KEY",
            "delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE",
            "attempted_at timestamptz NOT NULL",
            "status_code int",
            "latency_ms int NOT NULL",
            "error text",
            "succeeded boolean NOT NULL",
        ),
        "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
        create_table(
            "notifier_offsets",
            "group_id text NOT NULL",
            "topic text NOT NULL",
            "partition int NOT NULL",
            "next_offset bigint NOT NULL",
            "PRIMARY KEY (group_id, topic, partition)",
        ),
        create_table(
            "campaign_feedback_counts",
            "campaign_id uuid PRIMARY KEY",
            *(f"{name} bigint NOT NULL DEFAULT 0" for name in FEEDBACK),
        ),
    )


def downgrade() -> None:
    drop_tables(
        "campaign_feedback_counts",
        "notifier_offsets",
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_endpoints",
        "campaign_changes",
    )
