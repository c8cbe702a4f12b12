"""Suppressions and unsubscribes carry the transaction that wrote them, so the sender reads
only what changed since the resolver read a batch's leads.

The sender screens each batch just before sending: recipients suppressed or unsubscribed
since the campaign was resolved. It did so with one index probe per recipient (the
address in `suppressions`, the lead in `leads_unsubscribed`): about 1.9 µs of Postgres
CPU per email, the largest statement of a 1M campaign. Now the resolver reads, with each
page, what blocks each lead at that moment and the xmin of the page's snapshot (every
transaction it may not have seen has an id at or above it); the batch carries both, and
the sender reads only the account's suppressions and unsubscribes written by those
transactions: a range of an index, a few hundred rows per look-up however many
recipients it covers.

- `suppressions.xact`: the id of the transaction that inserted the row
  (`pg_current_xact_id()`, an `xid8`, which never wraps around). Rows written before this
  migration read 0: every snapshot taken after it sees them. Indexed with the account.
- `leads.unsubscribed_xact`: the id of the transaction that last set `unsubscribed_at`
  (NULL again when it is cleared), kept by a trigger that fires only on updates naming
  that column (the importer's upsert does not), so no writer can forget it. Indexed with
  the account, for the leads that unsubscribed only.

Each index is partial on a predicate that only the sender's range look-up states, so
the planner never takes one for another look-up by account.

Revision ID: 0017_screening_since_resolved
Revises: 0016_lead_ids_in_time_order
Create Date: 2026-12-04
"""

from shared.migrations.postgres.ddl import execute

revision = "0017_screening_since_resolved"
down_revision = "0016_lead_ids_in_time_order"
branch_labels = None
depends_on = None

# the constant default first (no rewrite of the table; old rows read 0), then the default
# of new rows
SUPPRESSIONS = [
    "ALTER TABLE suppressions ADD COLUMN xact xid8 NOT NULL DEFAULT '0'",
    "ALTER TABLE suppressions ALTER COLUMN xact SET DEFAULT pg_current_xact_id()",
    # partial, on a predicate only the sender's range states (`xact > '0'`): a plain index
    # on (account_id, xact) was also a candidate for every look-up of an address by account,
    # and the resolver's generic plan took it, with stale statistics, for its probe per
    # lead (reading the account's every suppression per lead: 44-64 ms per page of 1,000)
    "CREATE INDEX suppressions_account_xact ON suppressions (account_id, xact) WHERE xact > '0'",
]
UNSUBSCRIBED_XACT = """
CREATE FUNCTION leads_note_unsubscribed_xact() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.unsubscribed_xact := CASE WHEN NEW.unsubscribed_at IS NULL THEN NULL
                                  ELSE pg_current_xact_id() END;
    RETURN NEW;
END
$$
"""
LEADS = [
    "ALTER TABLE leads ADD COLUMN unsubscribed_xact xid8",
    UNSUBSCRIBED_XACT,
    """
    CREATE TRIGGER leads_unsubscribed_xact BEFORE UPDATE OF unsubscribed_at ON leads
    FOR EACH ROW WHEN (NEW.unsubscribed_at IS DISTINCT FROM OLD.unsubscribed_at)
    EXECUTE FUNCTION leads_note_unsubscribed_xact()
    """,
    # likewise on a predicate only that range states (and the range does not state
    # `unsubscribed_at IS NOT NULL`: `leads_unsubscribed` then joined it in a bitmap of every
    # account's unsubscribed leads), so no other look-up of leads by account can take it
    "CREATE INDEX leads_unsubscribed_xact ON leads (account_id, unsubscribed_xact)"
    " WHERE unsubscribed_xact IS NOT NULL",
]


def upgrade() -> None:
    for statement in SUPPRESSIONS + LEADS:
        execute(statement)


def downgrade() -> None:
    execute("DROP TRIGGER leads_unsubscribed_xact ON leads")
    execute("DROP FUNCTION leads_note_unsubscribed_xact()")
    execute("ALTER TABLE leads DROP COLUMN unsubscribed_xact")  # its index with it
    execute("ALTER TABLE suppressions DROP COLUMN xact")
