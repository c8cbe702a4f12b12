"""The matched leads of a campaign grouped by what its template reads, one lead per group.

Leads that agree on every value the template reads (which lead fields are
empty, which attribute paths are present; with `reads_all_attributes`, the
whole set of attribute keys) render alike as far as a missing value goes, so
one lead per group, with the group's size, stands for all of them. One scan
of the matched leads, however many there are; the largest groups first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.campaign_api.segments import PREVIEW_SETTINGS
from shared.conditions import Condition, compile_condition
from shared.templating.usage import Usage

EMPTY = {  # whether a lead leaves a field empty, per field a template can read
    "first_name": "coalesce(l.first_name, '') = ''",
    "last_name": "coalesce(l.last_name, '') = ''",
    "country": "coalesce(l.country, '') = ''",
    "tags": "coalesce(cardinality(l.tags), 0) = 0",
}
ALL_KEYS = (
    "ARRAY(SELECT k FROM jsonb_object_keys(CASE WHEN jsonb_typeof(l.attributes) = 'object' "
    "THEN l.attributes ELSE '{}'::jsonb END) AS k ORDER BY k)"
)
LEADS = (
    "SELECT l.ctid AS rep, l.email, l.first_name, l.last_name, l.country, l.tags, "
    "l.attributes::text AS attributes FROM leads l "
    "WHERE l.account_id = $1 AND l.ctid = ANY($2::tid[])"
)


@dataclass(frozen=True)
class LeadGroup:
    """How many matched leads read alike, and one of them (its row)."""

    size: int
    lead: asyncpg.Record


def _group_by(usage: Usage, first_param: int) -> tuple[list[str], list[Any]]:
    """SQL expressions that tell the groups apart, and their parameters."""
    exprs = [
        "coalesce(cardinality(l.tags), 0) = 0"
        if column == "tags"
        else f"coalesce(l.{column}, '') = ''"
        for column in sorted(usage.columns)  # names from a fixed list, never from input
    ]
    params: list[Any] = []
    for path in sorted(usage.attribute_paths):
        params.append(list(path))
        exprs.append(f"(l.attributes #> ${first_param + len(params) - 1}::text[]) IS NOT NULL")
    if usage.reads_all_attributes:
        exprs.append(ALL_KEYS)
    return exprs, params


async def lead_groups(
    conn: asyncpg.Connection,
    account_id: UUID,
    condition: Condition,
    usage: Usage,
    *,
    now: datetime,
    limit: int,
) -> tuple[int, list[LeadGroup]]:
    """How many leads the condition matches, and the `limit` largest groups of them."""
    compiled = compile_condition(condition, now=now, first_param=2)
    exprs, params = _group_by(usage, 2 + len(compiled.params))
    limit_param = 2 + len(compiled.params) + len(params)
    await conn.execute(PREVIEW_SETTINGS)
    rows = await conn.fetch(
        f"""
        SELECT count(*) AS size, min(l.ctid) AS rep, sum(count(*)) OVER () AS matched
        FROM leads l WHERE l.account_id = $1 AND ({compiled.sql})
        GROUP BY {", ".join(exprs) or "()"} ORDER BY size DESC LIMIT ${limit_param}
        """,
        account_id,
        *compiled.params,
        *params,
        limit,
    )
    matched = int(rows[0]["matched"]) if rows else 0
    if matched == 0:
        return 0, []
    leads = {
        row["rep"]: row for row in await conn.fetch(LEADS, account_id, [r["rep"] for r in rows])
    }
    # a lead changed since the scan (new row version) is skipped; its group had others or none
    groups = [LeadGroup(r["size"], leads[r["rep"]]) for r in rows if r["rep"] in leads]
    return matched, groups
