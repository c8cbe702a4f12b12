"""Idempotency keys of the campaign API, and the catalogue of lead attribute keys.

- `idempotency_keys`: one row per (account, `Idempotency-Key`) for 24 h. While the
  first request runs, `status` is NULL and `locked_until` is a lease its process
  renews; afterwards the row holds the request's fingerprint and the answer to
  replay. Expired rows are purged by the API (`idempotency/purge.py`).
- `lead_attribute_keys`: which top-level attribute keys an account's leads hold, with
  each JSON type seen, so condition warnings (`attributes.Plan` when leads have
  `plan`; `"10"` where leads hold numbers) cost one small indexed read instead of a
  scan of a million leads. Statement-level triggers on `leads` keep it current for
  every writer (API, import, other services, tests) with one anti-join per statement.
  It has no unique constraint on purpose: two imports adding the same new key would
  otherwise wait on each other's uncommitted row (or deadlock); a rare duplicate row
  is harmless because readers take DISTINCT. Keys are never removed when leads
  change or go, so the catalogue is a superset: a warning is never wrong about a key
  that exists.

Revision ID: 0008_idempotency_attribute_keys
Revises: 0007_sending_domains
Create Date: 2026-12-10
"""

from alembic import op

revision = "0008_idempotency_attribute_keys"
down_revision = "0007_sending_domains"
branch_labels = None
depends_on = None

NOTE_KEYS = """
CREATE FUNCTION note_lead_attribute_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_attribute_keys (account_id, key, json_type)
    SELECT s.account_id, s.key, s.json_type
    FROM (
        SELECT DISTINCT n.account_id, e.key, jsonb_typeof(e.value) AS json_type
        FROM new_rows n, jsonb_each(n.attributes) e
    ) s
    WHERE NOT EXISTS (
        SELECT 1 FROM lead_attribute_keys k
        WHERE k.account_id = s.account_id AND k.key = s.key AND k.json_type = s.json_type
    );
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            key text NOT NULL,
            fingerprint bytea,
            status smallint,
            headers jsonb,
            body bytea,
            locked_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (account_id, key)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)")
    op.execute(
        """
        CREATE TABLE lead_attribute_keys (
            account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            key text NOT NULL,
            json_type text NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX lead_attribute_keys_account ON lead_attribute_keys (account_id, key)")
    op.execute(
        """
        INSERT INTO lead_attribute_keys (account_id, key, json_type)
        SELECT DISTINCT l.account_id, e.key, jsonb_typeof(e.value)
        FROM leads l, jsonb_each(l.attributes) e
        """
    )
    op.execute(NOTE_KEYS)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER leads_note_attribute_keys_{event.lower()} AFTER {event} ON leads "
            "REFERENCING NEW TABLE AS new_rows "
            "FOR EACH STATEMENT EXECUTE FUNCTION note_lead_attribute_keys()"
        )


def downgrade() -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS leads_note_attribute_keys_{event} ON leads")
    op.execute("DROP FUNCTION IF EXISTS note_lead_attribute_keys()")
    op.execute("DROP TABLE IF EXISTS lead_attribute_keys")
    op.execute("DROP TABLE IF EXISTS idempotency_keys")
