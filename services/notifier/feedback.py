"""Provider feedback counted per campaign, for the summary a `campaign.completed` carries.

Reports (ClickHouse) are the exact record; this is a running tally in Postgres, one
upsert per campaign per batch (campaign-level writes, whatever the number of leads),
applied exactly once per Kafka record with the batch (`shared.kafka.applied`). An event the provider
itself repeated (same event id, two records) is counted twice here, never in reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from shared.contracts.events import EventType
from shared.contracts.fast_events import EventFields
from shared.outbound.event_types import FEEDBACK

COLUMNS = tuple(t.value for t in FEEDBACK)
UPSERT = f"""
INSERT INTO campaign_feedback_counts AS c (campaign_id, {", ".join(COLUMNS)})
SELECT * FROM unnest($1::uuid[], {", ".join(f"${i + 2}::bigint[]" for i in range(len(COLUMNS)))})
ON CONFLICT (campaign_id) DO UPDATE SET
    {", ".join(f"{c} = c.{c} + excluded.{c}" for c in COLUMNS)}
"""


async def count_feedback(conn: asyncpg.Connection, events: Sequence[EventFields]) -> None:
    """Add `events` (provider feedback only) to their campaigns' tallies (counted by the
    campaign id's integer: a `UUID` hashes in Python)."""
    tally: Counter[tuple[int, EventType]] = Counter(
        (e.campaign_id.int, e.type) for e in events if e.type in FEEDBACK
    )
    if not tally:
        return
    campaigns = sorted({campaign for campaign, _ in tally})  # one lock order for every writer
    columns = [[tally[(c, kind)] for c in campaigns] for kind in FEEDBACK]
    await conn.execute(UPSERT, [UUID(int=c) for c in campaigns], *columns)
