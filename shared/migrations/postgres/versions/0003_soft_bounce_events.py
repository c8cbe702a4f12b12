"""Soft bounces counted once per event id, in any order: the events of each run are kept.

`soft_bounces.last_event_id` guarded only against a retry of the last bounce
counted, so a replayed or out-of-order bounce counted twice. Now each counted
bounce is a row of `soft_bounce_events` (its event id is the key), the run is
the number of those after the address's latest delivery
(`soft_bounces.last_delivered_at`), and rows at or before that delivery are
dropped (a replay of one can never count again). Existing runs are carried over
as that many rows (the last counted event keeps its id).

Create Date: 2026-12-01
"""

from alembic import op

revision = "0003_soft_bounce_events"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE soft_bounce_events (
            account_id uuid NOT NULL,
            email text NOT NULL,
            event_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            PRIMARY KEY (account_id, email, event_id),
            FOREIGN KEY (account_id, email)
                REFERENCES soft_bounces (account_id, email) ON DELETE CASCADE
        )
        """
    )
    op.execute("ALTER TABLE soft_bounces ADD COLUMN last_delivered_at timestamptz")
    op.execute(
        """
        INSERT INTO soft_bounce_events (account_id, email, event_id, occurred_at)
        SELECT sb.account_id, sb.email,
               CASE WHEN n = 1 AND sb.last_event_id IS NOT NULL
                    THEN sb.last_event_id ELSE gen_random_uuid() END,
               sb.updated_at
        FROM soft_bounces sb, generate_series(1, sb.consecutive) AS n
        """
    )
    op.execute("ALTER TABLE soft_bounces DROP COLUMN last_event_id")


def downgrade() -> None:
    op.execute("ALTER TABLE soft_bounces ADD COLUMN last_event_id uuid")
    op.execute("ALTER TABLE soft_bounces DROP COLUMN last_delivered_at")
    op.execute("DROP TABLE IF EXISTS soft_bounce_events")
