"""The guard's thresholds: when a campaign (or a whole account) is paused for its bounces and
complaints.

Rates are fractions of delivered-or-bounced outcomes (0.05 is 5 %). Three lines:

- **campaign**: once a campaign has `min_outcomes` outcomes, a hard-bounce rate above
  `hard_bounce_rate` or a complaint rate above `complaint_rate` pauses it (Amazon SES
  places an account under review from 5 % bounces and 0.1 % complaints);
- **window**: over its most recent `window_outcomes` outcomes, rates above the window's
  lines pause it too: a list that turns bad late (a complaint spike after N sends) is
  caught before its earlier, cleaner outcomes dilute the cumulative rate (0.3 % is the
  spam rate Gmail asks bulk senders never to reach);
- **account**: over the account's outcomes of the last 24 hours (at least
  `account_min_outcomes`), rates above the account's lines, which may not be lower than
  the campaign's (SES may pause sending from 10 % bounces and 0.5 % complaints), pause
  every campaign of the account.

An account without a row of its own uses the defaults. docs/deliverability.md explains
each line, cites the providers' rules behind each default and says how to tune them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self
from uuid import UUID

import asyncpg
import orjson
import structlog
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

log = structlog.get_logger(__name__)

Rate = float


def _rate(default: float, what: str) -> Rate:
    return Field(default, gt=0, le=1, description=f"{what} (a fraction: 0.05 is 5 %).")


class GuardThresholds(BaseModel):
    """When the guard pauses a campaign, or every campaign of the account."""

    # defaults are checked too: a campaign line raised above a default account line is refused
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    enabled: bool = Field(True, description="False: the guard never pauses this account's mail.")
    min_outcomes: int = Field(
        1000, ge=100, le=10_000_000, description="Campaign outcomes before its rates are judged."
    )
    hard_bounce_rate: Rate = _rate(0.05, "Campaign hard-bounce rate above which it pauses")
    complaint_rate: Rate = _rate(0.001, "Campaign complaint rate above which it pauses")
    window_outcomes: int = Field(
        2000, ge=100, le=1_000_000, description="Size of the sliding window (latest outcomes)."
    )
    window_hard_bounce_rate: Rate = _rate(0.10, "Hard-bounce rate in the window that pauses")
    window_complaint_rate: Rate = _rate(0.003, "Complaint rate in the window that pauses")
    account_min_outcomes: int = Field(
        5000, ge=100, le=100_000_000, description="Account outcomes (24 h) before it is judged."
    )
    account_hard_bounce_rate: Rate = _rate(
        0.10, "Account-wide hard-bounce rate (24 h) that pauses every campaign; >= the campaign's"
    )
    account_complaint_rate: Rate = _rate(
        0.005, "Account-wide complaint rate (24 h) that pauses every campaign; >= the campaign's"
    )

    @field_validator(
        "window_hard_bounce_rate",
        "window_complaint_rate",
        "account_hard_bounce_rate",
        "account_complaint_rate",
    )
    @classmethod
    def _not_below_the_campaign_line(cls, value: float, info: ValidationInfo) -> float:
        """The window's and the account's lines are the campaign's or higher: a lower one
        would pause on fewer outcomes what the campaign line lets through."""
        name = info.field_name or ""
        campaign_field = name.removeprefix("window_").removeprefix("account_")
        campaign_line = info.data.get(campaign_field)
        if isinstance(campaign_line, float) and value < campaign_line:
            raise ValueError(f"must not be lower than {campaign_field} ({campaign_line})")
        return value

    @classmethod
    def from_json(cls, text: str | None) -> Self:
        """A stored row's thresholds (the defaults for None)."""
        return cls() if text is None else cls.model_validate(orjson.loads(text))


async def load_thresholds(
    conn: asyncpg.Connection | asyncpg.Pool, account_ids: Iterable[UUID]
) -> dict[UUID, GuardThresholds]:
    """The thresholds of each account (its own, else the defaults)."""
    ids = sorted(set(account_ids))
    rows = await conn.fetch(
        "SELECT account_id, thresholds::text AS thresholds FROM guard_settings "
        "WHERE account_id = ANY($1::uuid[])",
        ids,
    )
    stored: dict[UUID, GuardThresholds] = {}
    for row in rows:
        try:
            stored[row["account_id"]] = GuardThresholds.from_json(row["thresholds"])
        except ValidationError as exc:  # written by an older model: never stop judging
            log.warning(
                "guard.thresholds_unreadable", account_id=str(row["account_id"]), error=str(exc)
            )
    return {account: stored.get(account, GuardThresholds()) for account in ids}


async def save_thresholds(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID, thresholds: GuardThresholds
) -> None:
    """Store the account's thresholds (replacing the previous ones)."""
    await conn.execute(
        "INSERT INTO guard_settings (account_id, thresholds) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (account_id) DO UPDATE SET thresholds = EXCLUDED.thresholds, "
        "updated_at = now()",
        account_id,
        thresholds.model_dump_json(),
    )


def percent(rate: float) -> str:
    """A rate as people read it: 0.004 → "0.4 %", 0.05 → "5 %"."""
    text = f"{rate * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text} %"
