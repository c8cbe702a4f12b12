"""The batch ledger: each send batch's outcome, recorded in Postgres before it is published.

One row per send batch, never per email:

    find(batch)          its recorded outcome (to re-emit), and the leads of an ESP call
                         that may have been in flight when an earlier attempt died
    mark_in_flight(...)  before the batch's first ESP call: the leads the call carries
    record(conn, ...)    the outcome, with each recipient's detail, and (if given) the
                         recipients parked for later (and from when), in one statement that
                         also drops the in-flight row; False when another attempt recorded
                         it first

A batch is recorded before its outcome events are published and before its
offset can be committed, so nothing that happens afterwards (a webhook that
suppresses one of its addresses, a pause) can change what it says. The detail
lives until the counting flush (`services.sender.accounting`), which runs after
the events were acknowledged by Kafka, and is then dropped: from that moment a
replay has nothing to publish and nothing to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from services.sender.outcomes import Outcome, outcome_counts
from shared.campaigns import MAX_REASON
from shared.contracts import EventType, Recipient, SendBatch

FIND = """
SELECT o.batch_no IS NOT NULL AS recorded, o.recorded_at, o.detail::text AS detail, a.lead_ids
FROM (SELECT $1::uuid AS campaign_id, $2::bigint AS batch_no) k
LEFT JOIN send_batch_outcomes o ON o.campaign_id = k.campaign_id AND o.batch_no = k.batch_no
LEFT JOIN send_batch_attempts a ON a.campaign_id = k.campaign_id AND a.batch_no = k.batch_no
"""
MARK_IN_FLIGHT = """
INSERT INTO send_batch_attempts AS a (campaign_id, batch_no, lead_ids)
SELECT $1, $2, $3::uuid[] WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = $1)
ON CONFLICT (campaign_id, batch_no) DO UPDATE
SET lead_ids = ARRAY(SELECT DISTINCT unnest(a.lead_ids || EXCLUDED.lead_ids))
"""
RECORD = """
WITH recorded AS (
    INSERT INTO send_batch_outcomes
        (campaign_id, batch_no, sent, failed, suppressed, cancelled, counted, detail, recorded_at)
    SELECT $1, $2, $3, $4, $5, $6, false, $7::jsonb, $8
    WHERE EXISTS (SELECT 1 FROM campaigns WHERE id = $1)
    ON CONFLICT (campaign_id, batch_no) DO NOTHING
    RETURNING campaign_id, batch_no
), parked AS (
    INSERT INTO send_batch_deferrals
        (campaign_id, batch_no, recipients, reason, not_before)
    SELECT campaign_id, batch_no, $9::jsonb, $10, $11 FROM recorded
    WHERE $9::jsonb IS NOT NULL
    ON CONFLICT DO NOTHING
), attempt AS (
    DELETE FROM send_batch_attempts WHERE campaign_id = $1 AND batch_no = $2
)
SELECT count(*) FROM recorded
"""


@dataclass(frozen=True)
class Recorded:
    """A batch's recorded outcome; `outcomes` is None once counted (its events are out)."""

    recorded_at: datetime
    outcomes: list[Outcome] | None


@dataclass(frozen=True)
class Found:
    """What the ledger knows of a batch before it is worked on."""

    recorded: Recorded | None = None
    in_flight: frozenset[UUID] = frozenset()


async def find(pool: asyncpg.Pool, batch: SendBatch) -> Found:
    """The batch's recorded outcome, or the leads of its possibly in-flight call."""
    row = await pool.fetchrow(FIND, batch.campaign_id, batch.batch_no)
    assert row is not None  # the LEFT JOINs always give one row
    in_flight = frozenset(row["lead_ids"] or ())
    if not row["recorded"]:
        return Found(in_flight=in_flight)
    detail = row["detail"]
    outcomes = decode_detail(detail) if detail is not None else None
    return Found(Recorded(row["recorded_at"], outcomes), in_flight)


async def mark_in_flight(pool: asyncpg.Pool, batch: SendBatch, leads: list[UUID]) -> None:
    """Before the first ESP call: these leads may be sent from now on."""
    await pool.execute(MARK_IN_FLIGHT, batch.campaign_id, batch.batch_no, leads)


async def record(
    conn: asyncpg.Connection | asyncpg.Pool,
    batch: SendBatch,
    outcomes: list[Outcome],
    recorded_at: datetime,
    *,
    parked: list[Recipient] | None = None,
    parked_reason: str = "",
    not_before: datetime | None = None,
) -> bool:
    """Record the batch's outcome (and park `parked`, re-emitted no earlier than
    `not_before`); False if it was recorded before."""
    counts = outcome_counts(outcomes)
    recipients = None
    if parked:
        recipients = orjson.dumps([r.model_dump(mode="json") for r in parked]).decode()
    inserted = await conn.fetchval(
        RECORD,
        batch.campaign_id,
        batch.batch_no,
        *counts,
        encode_detail(outcomes),
        recorded_at,
        recipients,
        parked_reason[:MAX_REASON],
        not_before,
    )
    return bool(inserted)


def encode_detail(outcomes: list[Outcome]) -> str:
    """Each recipient's outcome as the JSON kept in `send_batch_outcomes.detail`."""
    return orjson.dumps(
        [
            [
                str(o.recipient.lead_id),
                o.recipient.email,
                o.type.value,
                o.provider_message_id,
                o.reason,
            ]  # fmt: skip
            for o in outcomes
        ]
    ).decode()


def decode_detail(text: str) -> list[Outcome]:
    """The outcomes `encode_detail` wrote (recipients without merge variables)."""
    return [
        Outcome(Recipient(lead_id=UUID(lead), email=email), EventType(kind), message, reason)
        for lead, email, kind, message, reason in orjson.loads(text)
    ]
