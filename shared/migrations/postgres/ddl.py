"""The table shapes the Postgres migrations repeat, written once.

Most tables are one of three kinds: owned by an account (a uuid `id` and the owning
`account_id`, deleted with the account), kept per send batch of a campaign (keyed by
`(campaign_id, batch_no)`, deleted with the campaign), or kept per address of an
account (keyed by `(account_id, email)`). A migration names the kind and its own
columns; the SQL these build is the SQL the migrations used to spell out, so the schema
of an existing database and of a new one stay the same.

A migration's revision module imports from here; once released, these functions only
ever gain new shapes: changing one would change what an old migration creates.
"""

from __future__ import annotations

from alembic import op

ID = "id uuid PRIMARY KEY DEFAULT gen_random_uuid()"
ACCOUNT_ID = "account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE"
CAMPAIGN_ID = "campaign_id uuid NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE"
CREATED_AT = "created_at timestamptz NOT NULL DEFAULT now()"
UPDATED_AT = "updated_at timestamptz NOT NULL DEFAULT now()"


def create_table(name: str, *columns: str) -> str:
    """`CREATE TABLE name (columns...)`: columns and table constraints, in order."""
    return f"CREATE TABLE {name} (\n    " + ",\n    ".join(columns) + "\n)"


def account_table(name: str, *columns: str) -> str:
    """A table of rows owned by one account: `id`, `account_id`, then `columns`."""
    return create_table(name, ID, ACCOUNT_ID, *columns)


def batch_table(name: str, *columns: str) -> str:
    """A table of one row per send batch of a campaign, keyed by `(campaign_id, batch_no)`."""
    return create_table(
        name,
        CAMPAIGN_ID,
        "batch_no bigint NOT NULL",
        *columns,
        "PRIMARY KEY (campaign_id, batch_no)",
    )


def address_table(name: str, *columns: str) -> str:
    """A table of one row per address of an account, keyed by `(account_id, email)`."""
    return create_table(
        name, ACCOUNT_ID, "email text NOT NULL", *columns, "PRIMARY KEY (account_id, email)"
    )


def execute(*statements: str) -> None:
    """Run `statements` in order."""
    for statement in statements:
        op.execute(statement)


def drop_tables(*names: str) -> None:
    """Drop `names` (and what depends on them), in order, where they exist."""
    execute(*(f"DROP TABLE IF EXISTS {name} CASCADE" for name in names))
