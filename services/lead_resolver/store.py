"""The resolver's reads of campaigns and writes of their progress; every write is conditional.

Checkpoint writes name the checkpoint and `batches_emitted` they expect, so two
instances briefly owning one campaign (a rebalance) cannot both advance it. A page's
leads and exclusions are counted in the statement that advances the checkpoint, so
the counters are exact after a crash at any point (the page is emitted again under the
same batch numbers and event ids, then counted once). State moves
are not made here: they go through `shared.campaigns` (conditional on the
states each move starts from, so a pause or cancel through the API is never
overwritten).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.lead_resolver.batcher import Page
from services.lead_resolver.known_suppressed import KnownSuppressed
from shared.campaigns import WORKING, State
from shared.contracts.events import ExclusionReason
from shared.contracts.sends import Recipient
from shared.templating import TemplateSource

# One statement per step, whatever the campaign's size: the batches outstanding come from
# the campaign's own counters (`batches_counted` moves with the sender's counting flush),
# never from counting the campaign's rows of `send_batch_outcomes` (that count grew with
# every batch of the campaign and ran on every step).
CAMPAIGN = """
SELECT c.id, c.account_id, c.state, c.run_id, c.condition::text AS condition,
       c.checkpoint_lead_id, c.batches_emitted, c.enqueued, c.resolve_done, c.launched_at,
       c.from_email, c.provider_config_id, t.subject, t.html_body, t.text_body,
       c.batches_emitted - c.batches_counted AS outstanding,
       EXISTS (SELECT 1 FROM send_batch_deferrals d WHERE d.campaign_id = c.id) AS parked
FROM campaigns c JOIN templates t ON t.id = c.template_id AND t.account_id = c.account_id
WHERE c.id = $1
"""

SWEEP = """
SELECT id FROM campaigns
WHERE state = ANY($1::text[])
   OR (state = $2 AND NOT resolve_done AND run_id IS NOT NULL)
   OR (state = $2 AND EXISTS (
        SELECT 1 FROM send_batch_deferrals d WHERE d.campaign_id = campaigns.id))
"""

# Every lead the condition matches, with what may exclude it as recorded by the launch ($4),
# so a page read again after a crash decides the same. An unsubscribe carries the provider's
# event time, which may be older than when it was written, so the row's last write must be
# older than the launch too (a lead unsubscribed or edited since is screened by the sender).
# Suppressions are stored normalised (lower case); a lead written around the API may not be.
# `blocked`: what blocks the lead now, whenever it was written (the sender screens out a
# lead blocked since the launch); `resolved_xmin`: the xmin of the statement's snapshot,
# so the sender reads only suppressions and unsubscribes this page may not have seen
# (migration 0017). One probe per lead reads the suppression's time, which answers both
# (by the launch, and now). Not an `EXISTS`: Postgres hashes that, reading the account's
# every suppression for each page, so a page cost more as the campaign's own bounces
# became suppressions (over a 1M campaign 1.2 -> 2.9 us per lead for the launch's
# `EXISTS`, 2.4 -> 6.1 with a second for now's; the probe 2.4-2.7 throughout,
# bench/results/20261204T1450Z-screening-since/page_grow.py.txt).
# Two statements, the first page's and the next pages': with `($2 IS NULL OR l.id > $2)` in
# one, a cached generic plan cannot seek the index to the checkpoint and reads every lead
# before it (a page's cost grew with the campaign), and each custom plan is planned again.
# The suppression probe names the account as the parameter ($1): its primary key's both
# columns.
_PAGE = """
SELECT p.id, p.email, p.first_name, p.last_name, p.country, p.tags, p.attributes,
       coalesce(p.unsubscribed_at <= $4 AND p.updated_at <= $4, false) AS unsubscribed,
       {{flags}}
FROM (
    SELECT l.id, l.email, {{columns}}, l.unsubscribed_at, l.updated_at{{probe}}
    FROM leads l
    WHERE l.account_id = $1 AND {after}
      AND ({condition})
    ORDER BY l.id
    LIMIT $3
) p
ORDER BY p.id
"""
# The lead fields a template may read, each as read for it or as NULL when it reads none
# (`page_columns`): a page reads, and a batch carries, only what its template reads.
_FIELDS = (
    ("first_name", "l.first_name", "text"),
    ("last_name", "l.last_name", "text"),
    ("country", "l.country", "text"),
    ("tags", "l.tags", "text[]"),
    ("attributes", "l.attributes::text", "text"),
)


def page_columns(fields: Collection[str] | None) -> str:
    """The page's lead columns for a template reading `fields` (None: every one)."""
    return ", ".join(
        f"{expr} AS {name}" if fields is None or name in fields else f"NULL::{cast} AS {name}"
        for name, expr, cast in _FIELDS
    )


ALL_COLUMNS = page_columns(None)
_PAGE = _PAGE.replace("{{columns}}", ALL_COLUMNS)
LEADS_PAGE = _PAGE.replace(
    "{{flags}}",
    """coalesce(p.suppressed_at <= $4, false) AS suppressed,
       (p.unsubscribed_at IS NOT NULL OR p.suppressed_at IS NOT NULL) AS blocked,
       (SELECT pg_snapshot_xmin(pg_current_snapshot()))::text::bigint AS resolved_xmin""",
).replace(
    "{{probe}}",
    """,
           (SELECT s.created_at FROM suppressions s
            WHERE s.account_id = $1 AND s.email = lower(l.email) LIMIT 1) AS suppressed_at""",
)
# The same page when the resolver's filter of the account's suppressed addresses
# (`known_suppressed.py`) screens the leads instead of a probe per lead: `suppressed` and
# `blocked` say only what the lead row says (the resolver adds what the probes of the
# addresses the filter may hold find), `address` is what they are looked up by, and
# `resolved_xmin` is the filter's catch-up's (the last parameter, `xmin` to `format`).
LEADS_PAGE_SCREENED = _PAGE.replace(
    "{{flags}}",
    """false AS suppressed,
       p.unsubscribed_at IS NOT NULL AS blocked,
       {xmin}::bigint AS resolved_xmin,
       lower(p.email) AS address""",
).replace("{{probe}}", "")
# A page is always planned (and its plan cached) with sequential scans off: a generic plan
# made while `suppressions` was small scanned it for every lead as it grew (614 ms per page
# of 1,000 leads on a fresh stack); with them off it probes the index per lead. Set for the
# page alone: the resolver's other statements (its sweep of campaigns) need a scan.
PAGE_PLANNER = "SET LOCAL enable_seqscan = off"
FROM_START = "$2::uuid IS NULL"  # the first page ($2 is NULL: no checkpoint yet)
AFTER_CHECKPOINT = "l.id > $2"
FIRST_CONDITION_PARAM = 5

ADVANCE = """
UPDATE campaigns SET checkpoint_lead_id = $3, batches_emitted = batches_emitted + $4,
    enqueued = enqueued + $5, excluded = excluded + $6 + $7 + $8 + $9,
    excluded_suppressed = excluded_suppressed + $6,
    excluded_unsubscribed = excluded_unsubscribed + $7,
    excluded_invalid_email = excluded_invalid_email + $8,
    excluded_duplicate = excluded_duplicate + $9, wait_reason = NULL, wait_until = NULL,
    updated_at = now()
WHERE id = $1 AND batches_emitted = $2 AND checkpoint_lead_id IS NOT DISTINCT FROM $10
"""


@dataclass(frozen=True)
class Campaign:
    """A campaign as the resolver sees it."""

    id: UUID
    account_id: UUID
    state: State
    run_id: UUID | None
    condition: Any
    checkpoint_lead_id: UUID | None
    batches_emitted: int
    enqueued: int
    resolve_done: bool
    launched_at: datetime | None  # relative conditions are read as of the launch
    from_email: str
    provider_config_id: UUID | None
    subject: str
    html_body: str
    text_body: str
    outstanding: int = 0  # batches emitted whose outcomes are not counted yet
    parked: bool = False  # the sender parked batches of it (re-emitted on resume)

    @property
    def template_source(self) -> TemplateSource:
        """The campaign's template as saved."""
        return TemplateSource(self.subject, self.html_body, self.text_body)

    @property
    def audience_at(self) -> datetime:
        """The time the audience is read as of: the launch (now, for a row without one)."""
        return self.launched_at or datetime.now(UTC)

    @property
    def started(self) -> bool:
        """Whether any lead was emitted (or the checkpoint moved) in any run."""
        return self.checkpoint_lead_id is not None or self.batches_emitted > 0


@dataclass(frozen=True)
class Parked:
    """Recipients the sender parked: its provider stopped, the campaign was paused, or their
    receiving domain was over its rate."""

    batch_no: int
    recipients: list[Recipient]


@dataclass(frozen=True)
class Claimed:
    """A batch claimed for re-emission: its number and the parked rows it holds."""

    batch_no: int
    rows: list[Parked]

    @property
    def recipients(self) -> list[Recipient]:
        """The recipients of its rows, in the rows' order."""
        return [r for row in self.rows for r in row.recipients]


async def load(pool: asyncpg.Pool, campaign_id: UUID) -> Campaign | None:
    """The campaign with its template, or None when it is gone."""
    row = await pool.fetchrow(CAMPAIGN, campaign_id)
    if row is None:
        return None
    values = dict(row)
    values["condition"] = orjson.loads(values["condition"])
    values["state"] = State(values["state"])
    return Campaign(**values)


async def active_ids(pool: asyncpg.Pool) -> list[UUID]:
    """Every campaign the resolver may have work on."""
    working = [state.value for state in WORKING]
    return [row["id"] for row in await pool.fetch(SWEEP, working, State.CANCELLED.value)]


async def leads_page(
    pool: asyncpg.Pool,
    campaign: Campaign,
    sql: str,
    params: Sequence[Any],
    limit: int,
    known: KnownSuppressed | None = None,
    fields: Collection[str] | None = None,
) -> list[Mapping[str, Any]]:
    """The next `limit` matching leads after the checkpoint, with their exclusion flags.

    `sql` is the compiled condition, its parameters numbered from `FIRST_CONDITION_PARAM`.
    With `known`, suppressions are screened by the account's filter (`LEADS_PAGE_SCREENED`)
    instead of a probe per lead. Of the lead fields a template may read, only `fields`
    are read (the others are NULL); None reads them all.
    """
    after = FROM_START if campaign.checkpoint_lead_id is None else AFTER_CHECKPOINT
    args = (campaign.account_id, campaign.checkpoint_lead_id, limit, campaign.audience_at)
    columns = page_columns(fields)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(PAGE_PLANNER)
        if known is None:
            query = LEADS_PAGE.replace(ALL_COLUMNS, columns).format(after=after, condition=sql)
            return list(await conn.fetch(query, *args, *params))
        xmin = await known.catch_up(conn, campaign.account_id)
        xmin_param = f"${FIRST_CONDITION_PARAM + len(params)}"
        query = LEADS_PAGE_SCREENED.replace(ALL_COLUMNS, columns).format(
            after=after, condition=sql, xmin=xmin_param
        )
        rows: list[Mapping[str, Any]] = list(await conn.fetch(query, *args, *params, xmin))
        found = await known.suppressed_at(conn, campaign.account_id, (r["address"] for r in rows))
    if found:
        launch = campaign.audience_at
        for i, row in enumerate(rows):
            at = found.get(row["address"])
            if at is not None:  # suppressed now: by the launch, or since (the sender screens)
                suppressed = launch is not None and at <= launch
                rows[i] = {**row, "suppressed": suppressed, "blocked": True}
    return rows


async def advance(db: asyncpg.Pool | asyncpg.Connection, campaign: Campaign, page: Page) -> bool:
    """Move the checkpoint past a page Kafka acknowledged and count its leads and
    exclusions, in one statement (which also ends a warm-up wait); False when the campaign
    is not ours (moved meanwhile)."""
    reasons = page.excluded_by_reason()
    status = await db.execute(
        ADVANCE,
        campaign.id,
        campaign.batches_emitted,
        page.last_lead,
        len(page.batches),
        page.leads,
        reasons[ExclusionReason.SUPPRESSED],
        reasons[ExclusionReason.UNSUBSCRIBED],
        reasons[ExclusionReason.INVALID_EMAIL],
        reasons[ExclusionReason.DUPLICATE],
        campaign.checkpoint_lead_id,
    )
    return bool(status.endswith(" 1"))


async def hold(pool: asyncpg.Pool, campaign: Campaign, reason: str, until: datetime) -> None:
    """Show why the campaign waits and until when (its warm-up allowance is used up);
    the next page's advance clears it."""
    await pool.execute(
        "UPDATE campaigns SET wait_reason = $2, wait_until = $3 "
        "WHERE id = $1 AND wait_until IS DISTINCT FROM $3",
        campaign.id,
        reason,
        until,
    )


async def finish(conn: asyncpg.Connection | asyncpg.Pool, campaign: Campaign) -> bool:
    """Every matched lead is emitted or excluded: record `matched` (both); False when the
    campaign is not ours."""
    status = await conn.execute(
        "UPDATE campaigns SET resolve_done = true, matched = enqueued + excluded, "
        "updated_at = now() "
        "WHERE id = $1 AND batches_emitted = $2 AND checkpoint_lead_id IS NOT DISTINCT FROM $3",
        campaign.id,
        campaign.batches_emitted,
        campaign.checkpoint_lead_id,
    )
    return bool(status.endswith(" 1"))


DUE_PARKED = """
SELECT batch_no, jsonb_array_length(recipients) AS size FROM send_batch_deferrals
WHERE campaign_id = $1 AND reemit_batch_no IS NULL
  AND ($2 OR not_before IS NULL OR not_before <= $3)
ORDER BY batch_no LIMIT $4
"""
CLAIMED = """
SELECT batch_no, reemit_batch_no, recipients::text AS recipients
FROM send_batch_deferrals WHERE campaign_id = $1 AND reemit_batch_no IS NOT NULL
ORDER BY reemit_batch_no, batch_no
"""
CLAIM = """
UPDATE send_batch_deferrals d SET reemit_batch_no = k.reemit
FROM unnest($2::bigint[], $3::bigint[]) AS k(batch_no, reemit)
WHERE d.campaign_id = $1 AND d.batch_no = k.batch_no AND d.reemit_batch_no IS NULL
"""


async def due_parked(
    pool: asyncpg.Pool, campaign_id: UUID, now: datetime, limit: int, *, all_now: bool = False
) -> list[tuple[int, int]]:
    """The oldest parked rows due at `now` (every row when `all_now`), not yet claimed:
    (batch number, recipients)."""
    rows = await pool.fetch(DUE_PARKED, campaign_id, all_now, now, limit)
    return [(row["batch_no"], row["size"]) for row in rows]


async def claim(pool: asyncpg.Pool, campaign: Campaign, plan: Sequence[Sequence[int]]) -> bool:
    """Claim parked rows for new batches (each group of row numbers in `plan` becomes batch
    `batches_emitted + i`) and count the new batches, in one transaction: a crash after it
    re-emits exactly those batches (`claimed`). False when the campaign moved meanwhile."""
    batch_nos = [row for group in plan for row in group]
    reemit = [campaign.batches_emitted + i for i, group in enumerate(plan) for _ in group]
    try:
        async with pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE campaigns SET batches_emitted = batches_emitted + $2, updated_at = now() "
                "WHERE id = $1 AND batches_emitted = $3",
                campaign.id,
                len(plan),
                campaign.batches_emitted,
            )
            if not status.endswith(" 1"):
                return False
            if await conn.execute(CLAIM, campaign.id, batch_nos, reemit) != (
                f"UPDATE {len(batch_nos)}"
            ):
                raise _ClaimedMeanwhile  # rolls the count back
    except _ClaimedMeanwhile:
        return False
    return True


class _ClaimedMeanwhile(Exception):  # noqa: N818 - never leaves this module
    """Another resolver instance claimed some of the rows first."""


async def claimed(pool: asyncpg.Pool, campaign_id: UUID) -> list[Claimed]:
    """The batches claimed and not yet re-emitted (all of them, after a crash too)."""
    groups: dict[int, list[Parked]] = {}
    for row in await pool.fetch(CLAIMED, campaign_id):
        recipients = [Recipient.model_validate(r) for r in orjson.loads(row["recipients"])]
        parked = Parked(row["batch_no"], recipients)
        groups.setdefault(row["reemit_batch_no"], []).append(parked)
    return [Claimed(number, rows) for number, rows in sorted(groups.items())]


async def reemitted(pool: asyncpg.Pool, campaign_id: UUID, batch_nos: list[int]) -> None:
    """The claimed batches `batch_nos` are on Kafka: drop their parked rows."""
    await pool.execute(
        "DELETE FROM send_batch_deferrals WHERE campaign_id = $1 AND reemit_batch_no = ANY($2)",
        campaign_id,
        batch_nos,
    )


async def has_parked(pool: asyncpg.Pool, campaign_id: UUID) -> bool:
    """Whether recipients of the campaign are parked and not yet claimed."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM send_batch_deferrals "
            "WHERE campaign_id = $1 AND reemit_batch_no IS NULL)",
            campaign_id,
        )
    )
