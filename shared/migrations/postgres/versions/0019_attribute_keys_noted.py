"""The attribute-keys catalogue's trigger leaves out a transaction whose writer noted its
rows' keys itself.

`lead_attribute_keys` (migration 0008) is kept by statement-level triggers on `leads`
that read every written row's attributes (`jsonb_each`) for the distinct keys and types:
about 2 µs of Postgres CPU per row, a seventh of what a large import costs Postgres
(bench/results/20261205T0500Z-import-wal, `load_paths.py`: 14.8 → 12.7 µs per row with
the function returning at once). The lead importer parses every row's attributes anyway,
so it gathers the keys and types itself, writes the few new ones in the same transaction,
and sets `fanout.attribute_keys_noted` to `on` for it (`set_config(..., true)`: the
transaction only). Every other writer (the API, other services, tests, an operator's SQL)
leaves the setting unset and is read by the trigger as before.

Revision ID: 0019_attribute_keys_noted
Revises: 0018_soft_bounces_xact
Create Date: 2026-12-05
"""

from shared.migrations.postgres.ddl import execute

revision = "0019_attribute_keys_noted"
down_revision = "0018_soft_bounces_xact"
branch_labels = None
depends_on = None

NOTED = "fanout.attribute_keys_noted"

BODY = """
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
"""


def _function(guard: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION note_lead_attribute_keys() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN{guard}{BODY}END\n$$"
    )


def upgrade() -> None:
    execute(
        _function(
            f"\n    IF current_setting('{NOTED}', true) = 'on' THEN\n"
            "        RETURN NULL;  -- the writer noted its rows' keys itself\n"
            "    END IF;"
        )
    )


def downgrade() -> None:
    execute(_function(""))
