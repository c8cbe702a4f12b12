"""The batch ledger: each send batch's outcome, recorded in Postgres before it is published.

One row per send batch, never per email:

    find(batch)          its recorded outcome (to re-emit), and the leads of an ESP call
                         that may have been in flight when an earlier attempt died; with
                         what blocks its recipients now (`screening`), in the same statement:
                         what the resolver saw blocking them, and the suppressions and
                         unsubscribes written since it read them
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

Every statement takes many batches at once (`unnest` over their keys): `Ledger` runs
one for all the batches of this instance waiting for the same step (`coalesce`; at a low
steady rate a step waits up to `linger_s` for company), so Postgres sees a statement per
handful of batches, not several per batch. A record that parks recipients the campaign
holds runs alone, in the caller's transaction (`deferrals`); one that parks recipients
over their receiving domain's rate is shared too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias, TypeVar
from uuid import UUID

import asyncpg
import msgspec
import orjson

from services.sender.coalesce import Coalescer
from services.sender.ids import uuid_texts
from services.sender.outcomes import COUNTED, Outcome, outcome_counts
from services.sender.screening import Blocked
from shared.campaigns import MAX_REASON
from shared.contracts import EventType
from shared.contracts.fast_sends import FastRecipient, FastSendBatch

# The ledger rows of each batch ($1 campaign, $2 batch number; i = position): its recorded
# outcome and its in-flight leads.
LEDGER_ROWS = """
LEFT JOIN LATERAL (
    SELECT true AS recorded, o.recorded_at, o.detail FROM send_batch_outcomes o
    WHERE o.campaign_id = k.campaign_id AND o.batch_no = k.batch_no LIMIT 1
) o ON true
LEFT JOIN LATERAL (
    SELECT a.lead_ids FROM send_batch_attempts a
    WHERE a.campaign_id = k.campaign_id AND a.batch_no = k.batch_no LIMIT 1
) a ON true
"""
KEYS = """
WITH k AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS k(campaign_id, batch_no, i)
)"""
# A batch the resolver read in a snapshot (`resolved_xmin`) needs only what was written
# since by a transaction it may not have seen (id at or above that xmin): per account
# ($3) from the oldest such xmin among the look-up's batches ($4), at most $5 suppressions
# and $5 unsubscribed leads, each a range of an index (migration 0017). They come back once,
# on the first row; which belong to which batch is sorted out by the caller. An account
# with more (a transaction held open for long keeps the xmin back) is looked up by probes.
# `ORDER BY` the index's order: with a bare `LIMIT` the generic plan read every account's
# unsubscribed leads (`leads_unsubscribed`), expecting to reach the limit early. The
# indexes are partial: `xact > '0'` and `unsubscribed_xact IS NOT NULL` state their
# predicates (every id is above 0: 0 marks rows older than the migration; the id is NULL
# again once `unsubscribed_at` is cleared).
FIND_SINCE = (
    KEYS
    + """, since AS (
    SELECT * FROM unnest($3::uuid[], $4::bigint[]) AS a(account_id, since)
), suppressed AS (
    SELECT array_agg(s.account_id) AS accounts, array_agg(s.email) AS emails,
           array_agg(s.xact::text::bigint) AS xacts
    FROM since a
    CROSS JOIN LATERAL (
        SELECT s.account_id, s.email, s.xact FROM suppressions s
        WHERE s.account_id = a.account_id AND s.xact >= a.since::text::xid8 AND s.xact > '0'
        ORDER BY s.xact LIMIT $5
    ) s
), unsubscribed AS (
    SELECT array_agg(l.account_id) AS accounts, array_agg(l.id) AS leads,
           array_agg(l.unsubscribed_xact::text::bigint) AS xacts
    FROM since a
    CROSS JOIN LATERAL (
        SELECT l.account_id, l.id, l.unsubscribed_xact FROM leads l
        WHERE l.account_id = a.account_id AND l.unsubscribed_xact >= a.since::text::xid8
          AND l.unsubscribed_xact IS NOT NULL
        ORDER BY l.unsubscribed_xact LIMIT $5
    ) l
)
SELECT k.i, o.recorded, o.recorded_at, o.detail, a.lead_ids,
       CASE WHEN k.i = 1 THEN s.accounts END AS suppressed_accounts,
       CASE WHEN k.i = 1 THEN s.emails END AS suppressed_emails,
       CASE WHEN k.i = 1 THEN s.xacts END AS suppressed_xacts,
       CASE WHEN k.i = 1 THEN u.accounts END AS unsubscribed_accounts,
       CASE WHEN k.i = 1 THEN u.leads END AS unsubscribed_leads,
       CASE WHEN k.i = 1 THEN u.xacts END AS unsubscribed_xacts
FROM k CROSS JOIN suppressed s CROSS JOIN unsubscribed u"""
    + LEDGER_ROWS
    + "ORDER BY k.i"
)
# The most suppressions (and unsubscribed leads) of one account read as a range by one
# look-up; more, and its batches are looked up by probes (`FIND`).
SINCE_LIMIT = 5_000
# A batch with no snapshot (re-emitted parked recipients; a batch from an older resolver)
# or whose account's range is too long: $3–$5 its recipients' lower-cased addresses
# (position, account, address) and $6–$7 its leads (position, lead), each looked up by one
# index probe (`LIMIT 1` keeps each a nested loop: a join here let the planner hash every
# row of `suppressions`, every account's, on each call; the sender's sessions prefer
# indexes to sequential scans, `shared.db.INDEX_PROBES`, so a generic plan made while a
# table was small still probes).
FIND = (
    KEYS
    + """, suppressed AS (
    SELECT e.i, array_agg(s.email) AS found
    FROM unnest($3::bigint[], $4::uuid[], $5::text[]) AS e(i, account_id, email)
    CROSS JOIN LATERAL (
        SELECT s.email FROM suppressions s
        WHERE s.account_id = e.account_id AND s.email = e.email LIMIT 1
    ) s
    GROUP BY e.i
), unsubscribed AS (
    SELECT u.i, array_agg(l.id) AS found
    FROM unnest($6::bigint[], $7::uuid[]) AS u(i, lead_id)
    CROSS JOIN LATERAL (
        SELECT l.id FROM leads l WHERE l.id = u.lead_id AND l.unsubscribed_at IS NOT NULL LIMIT 1
    ) l
    GROUP BY u.i
)
SELECT k.i, o.recorded, o.recorded_at, o.detail, a.lead_ids,
       s.found AS blocked_emails, u.found AS blocked_leads
FROM k"""
    + LEDGER_ROWS
    + """LEFT JOIN suppressed s ON s.i = k.i
LEFT JOIN unsubscribed u ON u.i = k.i
ORDER BY k.i"""
)
# one row per batch: its leads are the slice [lo:hi] of one array of every call's leads
# (merged client-side when a batch comes twice), rather than a row per lead grouped again.
# The campaign's row is probed per batch (`LIMIT 1` in a lateral; so in RECORD): as
# `EXISTS`, a generic plan made while `campaigns` held few rows hashed the whole table on
# every call, for as long as the pooled connection kept that plan.
MARK_IN_FLIGHT = """
INSERT INTO send_batch_attempts AS a (campaign_id, batch_no, lead_ids)
SELECT f.campaign_id, f.batch_no, ($3::uuid[])[f.lo:f.hi]
FROM unnest($1::uuid[], $2::bigint[], $4::int[], $5::int[]) AS f(campaign_id, batch_no, lo, hi)
CROSS JOIN LATERAL (SELECT 1 FROM campaigns c WHERE c.id = f.campaign_id LIMIT 1) c
ORDER BY f.campaign_id, f.batch_no
ON CONFLICT (campaign_id, batch_no) DO UPDATE
SET lead_ids = ARRAY(SELECT DISTINCT unnest(a.lead_ids || EXCLUDED.lead_ids))
"""
RECORD = """
WITH b AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[],
                         $7::text[], $8::timestamptz[], $9::text[], $10::text[],
                         $11::timestamptz[])
        AS b(campaign_id, batch_no, sent, failed, suppressed, cancelled, detail, recorded_at,
             parked, reason, not_before)
), recorded AS (
    INSERT INTO send_batch_outcomes
        (campaign_id, batch_no, sent, failed, suppressed, cancelled, counted, detail, recorded_at)
    SELECT b.campaign_id, b.batch_no, sent, failed, suppressed, cancelled, false, detail,
           recorded_at
    FROM b CROSS JOIN LATERAL (SELECT 1 FROM campaigns c WHERE c.id = b.campaign_id LIMIT 1) c
    ORDER BY b.campaign_id, b.batch_no
    ON CONFLICT (campaign_id, batch_no) DO NOTHING
    RETURNING campaign_id, batch_no
), parked AS (
    INSERT INTO send_batch_deferrals (campaign_id, batch_no, recipients, reason, not_before)
    SELECT r.campaign_id, r.batch_no, b.parked::jsonb, b.reason, b.not_before
    FROM recorded r JOIN b ON b.campaign_id = r.campaign_id AND b.batch_no = r.batch_no
    WHERE b.parked IS NOT NULL
    ON CONFLICT DO NOTHING
), attempt AS (
    DELETE FROM send_batch_attempts a USING b
    WHERE a.campaign_id = b.campaign_id AND a.batch_no = b.batch_no
)
SELECT campaign_id, batch_no FROM recorded
"""

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool
T = TypeVar("T")
Key = tuple[UUID, int]


@dataclass(frozen=True)
class Recorded:
    """A batch's recorded outcome; `outcomes` is None once counted (its events are out)."""

    recorded_at: datetime
    outcomes: list[Outcome] | None


@dataclass(frozen=True)
class Found:
    """What the ledger knows of a batch before it is worked on, and what blocks its
    recipients now (for the first attempt's screening)."""

    recorded: Recorded | None = None
    in_flight: frozenset[UUID] = frozenset()
    blocked: Blocked = Blocked()


@dataclass(frozen=True)
class Recording:
    """One batch's outcome to record, and the recipients it parks (with the reason, and the
    time they may come back)."""

    batch: FastSendBatch
    outcomes: list[Outcome]
    recorded_at: datetime
    parked: list[FastRecipient] | None = None
    parked_reason: str = ""
    not_before: datetime | None = None


async def find_many(db: Db, batches: Sequence[FastSendBatch]) -> list[Found]:
    """What `find` answers, for each of `batches` (one statement; two when some batches
    have no snapshot or an account's changes since are too many to read as a range)."""
    found: dict[int, Found] = {}
    since = [i for i, b in enumerate(batches) if b.resolved_xmin is not None]
    if since:
        by_position = await _find_since(db, [batches[i] for i in since])
        found = {since[j]: f for j, f in by_position.items()}
    probed = [i for i in range(len(batches)) if i not in found]
    if probed:
        for i, f in zip(probed, await _find_probing(db, [batches[i] for i in probed]), strict=True):
            found[i] = f
    return [found[i] for i in range(len(batches))]


async def _find_since(db: Db, batches: Sequence[FastSendBatch]) -> dict[int, Found]:
    """Batches with a snapshot: what blocks them is what the resolver saw blocking them
    (`blocked_leads`) and what was written since. Positions of accounts with more written
    since than `SINCE_LIMIT` are left out (the caller probes those)."""
    oldest: dict[UUID, int] = {}
    for batch in batches:
        assert batch.resolved_xmin is not None
        oldest[batch.account_id] = min(
            oldest.get(batch.account_id, batch.resolved_xmin), batch.resolved_xmin
        )
    rows = await db.fetch(
        FIND_SINCE,
        [b.campaign_id for b in batches],
        [b.batch_no for b in batches],
        list(oldest),
        list(oldest.values()),
        SINCE_LIMIT,
    )
    first = rows[0]
    emails = _written_since(
        first["suppressed_accounts"], first["suppressed_emails"], first["suppressed_xacts"]
    )
    leads = _written_since(
        first["unsubscribed_accounts"], first["unsubscribed_leads"], first["unsubscribed_xacts"]
    )
    too_many = {a for a, keys in (*emails.items(), *leads.items()) if len(keys) >= SINCE_LIMIT}
    found: dict[int, Found] = {}
    for j, (batch, row) in enumerate(zip(batches, rows, strict=True)):
        if batch.account_id in too_many:
            continue
        xmin = batch.resolved_xmin
        assert xmin is not None
        written = emails.get(batch.account_id, {})
        unsubscribed = leads.get(batch.account_id, {})
        blocked_emails: set[str] = set()
        blocked_leads = set(batch.blocked_leads)
        for r in batch.recipients:
            if written and written.get(address := r.email.lower(), -1) >= xmin:
                blocked_emails.add(address)
            if unsubscribed and unsubscribed.get(r.lead_id, -1) >= xmin:
                blocked_leads.add(r.lead_id)
        found[j] = _found(row, Blocked(frozenset(blocked_emails), frozenset(blocked_leads)))
    return found


def _written_since(
    accounts: list[UUID] | None, keys: list[T] | None, xacts: list[int] | None
) -> dict[UUID, dict[T, int]]:
    """Per account, each key written since and the transaction that wrote it."""
    written: dict[UUID, dict[T, int]] = {}
    for account, key, xact in zip(accounts or (), keys or (), xacts or (), strict=True):
        written.setdefault(account, {})[key] = xact
    return written


async def _find_probing(db: Db, batches: Sequence[FastSendBatch]) -> list[Found]:
    """Batches looked up by one probe per recipient (`FIND`)."""
    email_at: list[int] = []
    accounts: list[UUID] = []
    emails: list[str] = []
    lead_at: list[int] = []
    leads: list[UUID] = []
    for i, batch in enumerate(batches, start=1):
        for email in sorted({r.email.lower() for r in batch.recipients}):
            email_at.append(i)
            accounts.append(batch.account_id)
            emails.append(email)
        for recipient in batch.recipients:
            lead_at.append(i)
            leads.append(recipient.lead_id)
    rows = await db.fetch(
        FIND,
        [b.campaign_id for b in batches],
        [b.batch_no for b in batches],
        email_at,
        accounts,
        emails,
        lead_at,
        leads,
    )
    return [_found(row, Blocked.of_row(row)) for row in rows]


def _found(row: asyncpg.Record, blocked: Blocked) -> Found:
    in_flight = frozenset(row["lead_ids"] or ())
    if not row["recorded"]:
        return Found(in_flight=in_flight, blocked=blocked)
    detail = row["detail"]
    outcomes = decode_detail(detail) if detail is not None else None
    return Found(Recorded(row["recorded_at"], outcomes), in_flight, blocked)


async def find(db: Db, batch: FastSendBatch) -> Found:
    """The batch's recorded outcome, or the leads of its possibly in-flight call; with what
    blocks its recipients now."""
    return (await find_many(db, [batch]))[0]


async def mark_in_flight_many(db: Db, calls: Sequence[tuple[FastSendBatch, list[UUID]]]) -> None:
    """What `mark_in_flight` does, for every (batch, leads) of `calls` (one statement)."""
    merged: dict[Key, dict[UUID, None]] = {}
    for batch, leads in calls:
        merged.setdefault(_key(batch), {}).update(dict.fromkeys(leads))
    campaigns: list[UUID] = []
    batch_nos: list[int] = []
    flat: list[UUID] = []  # every batch's leads, batch i's the slice [lo[i]:hi[i]] (1-based)
    lo: list[int] = []
    hi: list[int] = []
    for (campaign_id, batch_no), batch_leads in merged.items():
        if batch_leads:
            campaigns.append(campaign_id)
            batch_nos.append(batch_no)
            lo.append(len(flat) + 1)
            flat.extend(batch_leads)
            hi.append(len(flat))
    if campaigns:
        await db.execute(MARK_IN_FLIGHT, campaigns, batch_nos, flat, lo, hi)


async def mark_in_flight(db: Db, batch: FastSendBatch, leads: list[UUID]) -> None:
    """Before the first ESP call: these leads may be sent from now on."""
    await mark_in_flight_many(db, [(batch, leads)])


async def record_many(db: Db, recordings: Sequence[Recording]) -> list[bool]:
    """What `record` answers, for each of `recordings` (one statement). A batch given twice
    is recorded by its first recording only."""
    first: dict[Key, Recording] = {}
    for recording in recordings:
        first.setdefault(_key(recording.batch), recording)
    chosen = list(first.values())
    counts = [outcome_counts(r.outcomes) for r in chosen]
    rows = await db.fetch(
        RECORD,
        [r.batch.campaign_id for r in chosen],
        [r.batch.batch_no for r in chosen],
        *([c[n] for c in counts] for n in range(len(COUNTED))),
        [encode_detail(r.outcomes) for r in chosen],
        [r.recorded_at for r in chosen],
        [_parked(r.parked) for r in chosen],
        [r.parked_reason[:MAX_REASON] for r in chosen],
        [r.not_before for r in chosen],
    )
    inserted = {(row["campaign_id"], row["batch_no"]) for row in rows}
    return [_key(r.batch) in inserted and first[_key(r.batch)] is r for r in recordings]


async def record(
    db: Db,
    batch: FastSendBatch,
    outcomes: list[Outcome],
    recorded_at: datetime,
    *,
    parked: list[FastRecipient] | None = None,
    parked_reason: str = "",
    not_before: datetime | None = None,
) -> bool:
    """Record the batch's outcome (and park `parked`, re-emitted no earlier than
    `not_before`); False if it was recorded before."""
    recording = Recording(batch, outcomes, recorded_at, parked, parked_reason, not_before)
    return (await record_many(db, [recording]))[0]


def _key(batch: FastSendBatch) -> Key:
    return batch.campaign_id, batch.batch_no


def _parked(parked: list[FastRecipient] | None) -> str | None:
    if not parked:
        return None
    return msgspec.json.encode(parked).decode()


def encode_detail(outcomes: list[Outcome]) -> str:
    """Each recipient's outcome as the JSON kept in `send_batch_outcomes.detail`."""
    leads = uuid_texts(o.recipient.lead_id for o in outcomes)
    return orjson.dumps(
        [
            [
                lead,
                o.recipient.email,
                o.type.value,
                o.provider_message_id,
                o.reason,
            ]  # fmt: skip
            for o, lead in zip(outcomes, leads, strict=True)
        ]
    ).decode()


def decode_detail(text: str) -> list[Outcome]:
    """The outcomes `encode_detail` wrote (recipients without merge variables)."""
    return [
        Outcome(FastRecipient(UUID(lead), email), EventType(kind), message, reason)
        for lead, email, kind, message, reason in orjson.loads(text)
    ]


class Ledger:
    """The ledger of one sender instance: each step's statement shared by the batches
    waiting for it (`coalesce`)."""

    def __init__(self, pool: asyncpg.Pool, *, max_batches: int = 64, linger_s: float = 0.0) -> None:
        self.pool = pool
        self._find: Coalescer[FastSendBatch, Found] = Coalescer(
            lambda batches: find_many(pool, batches), max_items=max_batches, linger_s=linger_s
        )
        self._mark = Coalescer(self._mark_all, max_items=max_batches, linger_s=linger_s)
        self._record: Coalescer[Recording, bool] = Coalescer(
            lambda recordings: record_many(pool, recordings),
            max_items=max_batches,
            linger_s=linger_s,
        )

    async def find(self, batch: FastSendBatch) -> Found:
        """`find`, in a statement shared with other batches."""
        return await self._find.submit(batch)

    async def mark_in_flight(self, batch: FastSendBatch, leads: list[UUID]) -> None:
        """`mark_in_flight`, in a statement shared with other batches."""
        await self._mark.submit((batch, leads))

    async def record(self, batch: FastSendBatch, outcomes: list[Outcome], at: datetime) -> bool:
        """`record` (nothing parked), in a statement shared with other batches."""
        return await self._record.submit(Recording(batch, outcomes, at))

    async def park(self, recording: Recording) -> bool:
        """`record` with recipients parked whatever the campaign's state (over their
        receiving domain's rate), in a statement shared with other batches."""
        return await self._record.submit(recording)

    @property
    def statements(self) -> int:
        """Statements run so far by this ledger."""
        return self._find.statements + self._mark.statements + self._record.statements

    async def _mark_all(self, calls: list[tuple[FastSendBatch, list[UUID]]]) -> list[None]:
        await mark_in_flight_many(self.pool, calls)
        return [None] * len(calls)
