"""Warm-up allowances: how many more leads a campaign may emit today, and charging what it emits.

The schedules that apply to a campaign are its account's ramps for the domain of its
`from_email` and for its provider configuration (`shared.reputation.warmup`). Their
smallest allowance left today bounds the campaign's next page; what a page emits is
charged to every applying schedule in the transaction that advances the checkpoint, so a
crash never charges a page twice or not at all. Several campaigns of one domain share its
allowance. Parked recipients re-emitted later were charged when first emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

import asyncpg

from shared.reputation import Ramp
from shared.reputation.domains import domain_of

APPLYING = """
SELECT w.id, w.domain, w.provider_config_id, w.starts_on, w.daily_limits,
       coalesce(d.used, 0) AS used
FROM warmups w LEFT JOIN warmup_days d ON d.warmup_id = w.id AND d.day = $4
WHERE w.account_id = $1 AND (w.domain = $2 OR w.provider_config_id = $3)
ORDER BY w.id
"""
CHARGE = """
INSERT INTO warmup_days AS d (warmup_id, day, used)
SELECT id, $2, $3 FROM unnest($1::uuid[]) AS id
ON CONFLICT (warmup_id, day) DO UPDATE SET used = d.used + excluded.used
"""


@dataclass(frozen=True)
class Allowance:
    """What a campaign may still emit on `day`: `remaining` leads (None: no limit), and the
    schedules to charge (every schedule that applies, limited today or not)."""

    day: date
    remaining: int | None = None
    charged: list[UUID] = field(default_factory=list)
    limited_by: str = ""  # the schedule that leaves the least, for the wait reason

    @property
    def used_up(self) -> bool:
        """Nothing more may go today."""
        return self.remaining is not None and self.remaining <= 0


async def allowance(
    db: asyncpg.Pool | asyncpg.Connection,
    account_id: UUID,
    from_email: str,
    provider_config_id: UUID | None,
    day: date,
) -> Allowance:
    """The allowance left on `day` for a campaign of `account_id` sending from `from_email`
    through `provider_config_id`."""
    rows = await db.fetch(APPLYING, account_id, domain_of(from_email), provider_config_id, day)
    found = Allowance(day, charged=[row["id"] for row in rows])
    for row in rows:
        ramp = Ramp(starts_on=row["starts_on"], daily_limits=list(row["daily_limits"]))
        limit = ramp.allowance_on(day)
        if limit is None:
            continue
        left = limit - row["used"]
        if found.remaining is None or left < found.remaining:
            target = (
                f"sending domain {row['domain']}"
                if row["domain"]
                else (f"provider configuration {row['provider_config_id']}")
            )
            found = Allowance(day, left, found.charged, f"{target} ({row['used']} of {limit})")
    return found


async def charge(conn: asyncpg.Connection, allowed: Allowance, emitted: int) -> None:
    """Count `emitted` leads against every schedule that applies (in the caller's
    transaction, with the checkpoint's advance)."""
    if allowed.charged and emitted:
        await conn.execute(CHARGE, allowed.charged, allowed.day, emitted)
