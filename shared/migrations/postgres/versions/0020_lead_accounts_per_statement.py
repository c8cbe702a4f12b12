"""A lead's account is checked once per statement, not once per row.

The foreign key `leads_account_id_fkey` looked up and row-locked the account of every lead
written: Postgres's referential-integrity trigger runs per row, 3.5-5 µs of Postgres CPU per
row of a large import, about a quarter of what a first import by COPY costs Postgres
(bench/results/20261205T1925Z-round27, `load_paths_27.py`: 15.1-17.0 µs per row with the key,
11.3-12.2 with the check below instead). An import writes 20,000 rows of one account per
statement, so the same rule is kept per statement, by triggers:

- `leads_account_exists` (after INSERT, per statement, over its new rows): the distinct
  accounts of the rows are locked FOR KEY SHARE, as the key's trigger locks each row's
  account, so the account cannot be deleted under a transaction that wrote its leads;
  one that does not exist raises `foreign_key_violation` (23503) naming
  `leads_account_id_fkey`, with Postgres's own message and detail. COPY fires it too.
- `leads_account_changed` (before an UPDATE that changes `account_id`, per row): the same
  for the new account. Nothing in Fanout moves a lead, so it costs nothing in practice.
- `accounts_delete_leads` (after DELETE on accounts, per statement, over the deleted
  rows): their leads are deleted (the key's ON DELETE CASCADE). It refuses to run above
  READ COMMITTED: there its snapshot could miss leads that a transaction committed while
  the delete waited for that transaction's lock on the account (the key's cascade checks
  with a cross-check snapshot, which a trigger cannot take). Every Fanout connection runs
  at READ COMMITTED.
- `accounts_id_kept` (before an UPDATE that changes `accounts.id`, per row): refused while
  leads refer to the old id (the key's NO ACTION).
- `accounts_truncate_leads` (after TRUNCATE on accounts): TRUNCATE leads, as
  `TRUNCATE accounts CASCADE` emptied it through the key.

The downgrade adds the foreign key back (validating every lead) and drops the triggers.

Revision ID: 0020_lead_accounts_per_statement
Revises: 0019_attribute_keys_noted
Create Date: 2026-12-05
"""

from typing import NamedTuple

from shared.migrations.postgres.ddl import execute

revision = "0020_lead_accounts_per_statement"
down_revision = "0019_attribute_keys_noted"
branch_labels = None
depends_on = None

CONSTRAINT = "leads_account_id_fkey"

# raised with the key's SQLSTATE, name, message and detail, so a caller cannot tell the two
# apart (asyncpg's ForeignKeyViolationError, `constraint_name`)
_RAISE = f"""
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'insert or update on table "leads" violates foreign key constraint '
                      '"{CONSTRAINT}"',
            DETAIL = format('Key (account_id)=(%s) is not present in table "accounts".', missing),
            CONSTRAINT = '{CONSTRAINT}',
            TABLE = 'leads',
            COLUMN = 'account_id';"""


class Trigger(NamedTuple):
    """One trigger of the migration and the function it runs (created, then dropped)."""

    name: str
    fires: str  # when, e.g. "AFTER INSERT"
    table: str
    scope: str  # transition table, per row or statement, condition
    function: str


# each function's body, between `AS $$` and `$$`
FUNCTIONS = {
    "leads_check_accounts": f"""
DECLARE
    wanted uuid[];
    held uuid[];
    missing uuid;
BEGIN
    SELECT array_agg(DISTINCT n.account_id) INTO wanted FROM new_rows n;
    IF wanted IS NULL THEN
        RETURN NULL;  -- the statement wrote no row
    END IF;
    SELECT array_agg(a.id) INTO held
    FROM (SELECT id FROM accounts WHERE id = ANY (wanted) FOR KEY SHARE) a;
    IF coalesce(cardinality(held), 0) < cardinality(wanted) THEN
        SELECT w INTO missing FROM unnest(wanted) AS w
        WHERE w <> ALL (coalesce(held, '{{}}'::uuid[])) LIMIT 1;{_RAISE}
    END IF;
    RETURN NULL;
END
""",
    "leads_check_changed_account": f"""
DECLARE
    missing uuid := NEW.account_id;
BEGIN
    PERFORM 1 FROM accounts WHERE id = NEW.account_id FOR KEY SHARE;
    IF NOT FOUND THEN{_RAISE}
    END IF;
    RETURN NEW;
END
""",
    "accounts_delete_leads": """
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'feature_not_supported',
            MESSAGE = 'accounts are deleted at READ COMMITTED',
            HINT = 'Deleting an account deletes its leads, which a snapshot older than '
                   'the delete could miss; run the delete in a READ COMMITTED transaction.';
    END IF;
    DELETE FROM leads l USING gone g WHERE l.account_id = g.id;
    RETURN NULL;
END
""",
    "accounts_keep_lead_ids": f"""
BEGIN
    IF EXISTS (SELECT 1 FROM leads WHERE account_id = OLD.id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'update or delete on table "accounts" violates foreign key constraint '
                      '"{CONSTRAINT}" on table "leads"',
            DETAIL = format('Key (id)=(%s) is still referenced from table "leads".', OLD.id),
            CONSTRAINT = '{CONSTRAINT}',
            TABLE = 'accounts';
    END IF;
    RETURN NEW;
END
""",
    "accounts_truncate_leads": """
BEGIN
    TRUNCATE leads;
    RETURN NULL;
END
""",
}

TRIGGERS = [
    Trigger(
        "leads_account_exists",
        "AFTER INSERT",
        "leads",
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
        "leads_check_accounts",
    ),
    Trigger(
        "leads_account_changed",
        "BEFORE UPDATE OF account_id",
        "leads",
        "FOR EACH ROW WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id)",
        "leads_check_changed_account",
    ),
    Trigger(
        "accounts_delete_leads",
        "AFTER DELETE",
        "accounts",
        "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT",
        "accounts_delete_leads",
    ),
    Trigger(
        "accounts_id_kept",
        "BEFORE UPDATE OF id",
        "accounts",
        "FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id)",
        "accounts_keep_lead_ids",
    ),
    Trigger(
        "accounts_truncate_leads",
        "AFTER TRUNCATE",
        "accounts",
        "FOR EACH STATEMENT",
        "accounts_truncate_leads",
    ),
]


def upgrade() -> None:
    execute(
        *(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
            for name, body in FUNCTIONS.items()
        ),
        *(
            f"CREATE TRIGGER {t.name} {t.fires} ON {t.table} {t.scope} "
            f"EXECUTE FUNCTION {t.function}()"
            for t in TRIGGERS
        ),
        f"ALTER TABLE leads DROP CONSTRAINT {CONSTRAINT}",
    )


def downgrade() -> None:
    execute(
        *(f"DROP TRIGGER {t.name} ON {t.table}" for t in reversed(TRIGGERS)),
        *(f"DROP FUNCTION {name}()" for name in reversed(FUNCTIONS)),
        f"ALTER TABLE leads ADD CONSTRAINT {CONSTRAINT} FOREIGN KEY (account_id) "
        "REFERENCES accounts(id) ON DELETE CASCADE",
    )
