"""Provider configurations per account: the ESPs an account sends through, credentials sealed.

- One row per (account, name): the kind (ses, sendgrid, mailgun, postmark, smtp,
  simulator), non-secret `settings` (validated per kind by campaign_api), the
  credentials sealed (`shared/sealing.py`) with the id of the key that sealed them and
  a keyed fingerprint, a state (active, or disabled with the reason: bad credentials
  found by the sender, or the owner's choice) and timestamps.
- Every account has a default configuration (`is_default`, one per account): the
  local simulator, made by a trigger for every new account and here for existing ones,
  so a campaign that names none sends as before.
- `campaigns.provider_config_id`: the configuration a campaign sends through. Rows of
  before have none: the sender then uses its stack-wide adapter of `campaigns.provider`.
  A configuration in use by a campaign that has not finished is not deleted (the API
  answers 409); a finished campaign forgets it (SET NULL) and keeps its `provider` kind.

Revision ID: 0010_provider_configs
Revises: 0007_sending_domains
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010_provider_configs"
down_revision = "0009_outbound_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE provider_configs (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            name text NOT NULL,
            kind text NOT NULL CHECK (kind IN
                ('simulator', 'ses', 'sendgrid', 'mailgun', 'postmark', 'smtp')),
            settings jsonb NOT NULL DEFAULT '{}',
            credentials bytea,
            credentials_key_id text,
            credentials_fingerprint text,
            is_default boolean NOT NULL DEFAULT false,
            state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
            state_reason text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT provider_configs_account_name UNIQUE (account_id, name),
            CONSTRAINT provider_configs_sealed CHECK
                ((credentials IS NULL) = (credentials_key_id IS NULL))
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX provider_configs_one_default ON provider_configs (account_id) "
        "WHERE is_default"
    )
    op.execute(
        """
        CREATE FUNCTION provider_configs_default() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO provider_configs (account_id, name, kind, is_default)
            VALUES (NEW.id, 'simulator', 'simulator', true);
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER accounts_default_provider AFTER INSERT ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION provider_configs_default()"
    )
    op.execute(
        "INSERT INTO provider_configs (account_id, name, kind, is_default) "
        "SELECT id, 'simulator', 'simulator', true FROM accounts"
    )
    op.execute(
        "ALTER TABLE campaigns ADD COLUMN provider_config_id uuid "
        "REFERENCES provider_configs(id) ON DELETE SET NULL"
    )
    op.execute(
        "CREATE INDEX campaigns_provider_config ON campaigns (provider_config_id) "
        "WHERE provider_config_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE campaigns DROP COLUMN IF EXISTS provider_config_id")
    op.execute("DROP TRIGGER IF EXISTS accounts_default_provider ON accounts")
    op.execute("DROP FUNCTION IF EXISTS provider_configs_default()")
    op.execute("DROP TABLE IF EXISTS provider_configs")
