"""Reputation: the guard's thresholds and counters, receiving-domain parking, warm-up schedules.

- `guard_settings`: an account's guard thresholds (JSON of `shared.reputation.
  GuardThresholds`); no row means the defaults.
- `guard_campaign_counts` / `guard_campaign_buckets`: per campaign, the delivered-or-bounced
  outcomes, hard bounces and complaints the guard counted, in total and in buckets of
  consecutive outcomes (the sliding window); `guard_account_hours`: the same per account
  and hour of the events (the account-wide line). Written by the guard once per batch of
  events, never per email.
- `notifier_offsets` becomes `consumer_offsets`: the next offset of a topic partition whose
  records a consumer group applied to Postgres (the notifier's group and the guard's),
  written in the transaction that applies them (`shared.kafka.applied`).
- `campaigns.guard_reason` / `guard_paused_at`: why and when the guard paused it (a resume
  must override it); `guard_override_at`: resumed over the guard, which leaves it alone
  from then on; `wait_reason` / `wait_until`: held by the lead resolver until a time (its
  warm-up allowance of the day is used up).
- `send_batch_deferrals.not_before`: recipients parked because their receiving domain was
  over its rate are re-emitted no earlier than this; `reemit_batch_no`: the batch they were
  claimed for (set before it is emitted, so a crash re-emits the same batch).
- `warmups` / `warmup_days`: daily volume ramps of an account's sending domain or provider
  configuration, and what each day used.

Revision ID: 0013_reputation
Revises: 0012_dashboard_sessions
Create Date: 2026-12-02
"""

from shared.migrations.postgres.ddl import (
    ACCOUNT_ID,
    CREATED_AT,
    UPDATED_AT,
    account_table,
    create_table,
    drop_tables,
    execute,
)

revision = "0013_reputation"
down_revision = "0012_dashboard_sessions"
branch_labels = None
depends_on = None

COUNTS = (
    "outcomes bigint NOT NULL DEFAULT 0",
    "bounced_hard bigint NOT NULL DEFAULT 0",
    "complained bigint NOT NULL DEFAULT 0",
)


def upgrade() -> None:
    execute(
        create_table(
            "guard_settings",
            "account_id uuid PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE",
            "thresholds jsonb NOT NULL",
            UPDATED_AT,
        ),
        create_table(
            "guard_campaign_counts",
            "campaign_id uuid PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE",
            "account_id uuid NOT NULL",
            "bucket_size integer NOT NULL",
            *COUNTS,
            "delivered bigint NOT NULL DEFAULT 0",
            "bounced_soft bigint NOT NULL DEFAULT 0",
            UPDATED_AT,
        ),
        create_table(
            "guard_campaign_buckets",
            "campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE",
            "bucket bigint NOT NULL",
            *COUNTS,
            "PRIMARY KEY (campaign_id, bucket)",
        ),
        create_table(
            "guard_account_hours",
            ACCOUNT_ID,
            "hour timestamptz NOT NULL",
            *COUNTS,
            "PRIMARY KEY (account_id, hour)",
        ),
        "ALTER TABLE notifier_offsets RENAME TO consumer_offsets",
        "ALTER TABLE consumer_offsets RENAME CONSTRAINT notifier_offsets_pkey "
        "TO consumer_offsets_pkey",
        "ALTER TABLE campaigns ADD COLUMN guard_reason text, "
        "ADD COLUMN guard_paused_at timestamptz, ADD COLUMN guard_override_at timestamptz, "
        "ADD COLUMN wait_reason text, ADD COLUMN wait_until timestamptz",
        "ALTER TABLE send_batch_deferrals ADD COLUMN not_before timestamptz, "
        "ADD COLUMN reemit_batch_no bigint",
        account_table(
            "warmups",
            "domain text",
            "provider_config_id uuid REFERENCES provider_configs(id) ON DELETE CASCADE",
            "starts_on date NOT NULL",
            "daily_limits integer[] NOT NULL DEFAULT '{}'",
            CREATED_AT,
            "CONSTRAINT warmups_one_target "
            "CHECK ((domain IS NULL) <> (provider_config_id IS NULL))",
        ),
        "CREATE UNIQUE INDEX warmups_domain ON warmups (account_id, domain) "
        "WHERE domain IS NOT NULL",
        "CREATE UNIQUE INDEX warmups_provider_config ON warmups (provider_config_id) "
        "WHERE provider_config_id IS NOT NULL",
        create_table(
            "warmup_days",
            "warmup_id uuid NOT NULL REFERENCES warmups(id) ON DELETE CASCADE",
            "day date NOT NULL",
            "used bigint NOT NULL DEFAULT 0",
            "PRIMARY KEY (warmup_id, day)",
        ),
    )


def downgrade() -> None:
    drop_tables("warmup_days", "warmups")
    execute(
        "ALTER TABLE send_batch_deferrals DROP COLUMN IF EXISTS not_before, "
        "DROP COLUMN IF EXISTS reemit_batch_no",
        "ALTER TABLE campaigns DROP COLUMN IF EXISTS guard_reason, "
        "DROP COLUMN IF EXISTS guard_paused_at, DROP COLUMN IF EXISTS guard_override_at, "
        "DROP COLUMN IF EXISTS wait_reason, DROP COLUMN IF EXISTS wait_until",
        "ALTER TABLE consumer_offsets RENAME CONSTRAINT consumer_offsets_pkey "
        "TO notifier_offsets_pkey",
        "ALTER TABLE consumer_offsets RENAME TO notifier_offsets",
    )
    drop_tables(
        "guard_account_hours", "guard_campaign_buckets", "guard_campaign_counts", "guard_settings"
    )
