"""Warm-up schedules: how many emails a new sending domain (or provider configuration) may send
per day.

Mailbox providers judge a sender they do not know by its first days of volume, so a new
domain starts small and grows. The standard ramp doubles from 50 a day for 15 days (50,
100, 200, ... 819,200), after which there is no limit. A schedule belongs to an account
and to one target: a sending domain (the domain of campaigns' `from_email`) or a provider
configuration (every campaign sending through it). It starts on a UTC date and may carry
its own list of daily limits instead of the standard ramp.

Days are UTC dates; day 0 is `starts_on`. The lead resolver emits a campaign's leads within
the smallest allowance left today among the schedules that apply to it, and holds the rest
until the next day (`services/lead_resolver/warmup.py`); campaign_api stores schedules and
shows each day's use (`GET /warmups`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

STANDARD_RAMP: tuple[int, ...] = tuple(50 * 2**day for day in range(15))
MAX_DAYS = 366

DailyLimit = Annotated[int, Field(ge=1, le=100_000_000)]


class Ramp(BaseModel):
    """A daily volume ramp: the limits of day 0, 1, 2, ... from `starts_on`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starts_on: date = Field(description="Day 0 of the ramp (a UTC date).")
    daily_limits: list[DailyLimit] = Field(
        default_factory=list,
        max_length=MAX_DAYS,
        description="Emails allowed on day 0, 1, 2, ...; no limit after the last one. "
        "Empty: the standard ramp (doubling from 50 a day for 15 days).",
    )

    @property
    def limits(self) -> tuple[int, ...]:
        """The daily limits in force (the standard ramp when none were given)."""
        return tuple(self.daily_limits) or STANDARD_RAMP

    def allowance_on(self, day: date) -> int | None:
        """Emails allowed on `day` (None: no limit, the ramp is over). A day before the ramp
        starts counts as its day 0: the domain is new either way."""
        index = max(0, (day - self.starts_on).days)
        limits = self.limits
        return limits[index] if index < len(limits) else None

    def ends_on(self) -> date:
        """The first day without a limit."""
        return self.starts_on + timedelta(days=len(self.limits))


def utc_day(now: datetime) -> date:
    """The UTC date of `now` (an aware time)."""
    return now.astimezone(UTC).date()


def next_day_starts(now: datetime) -> datetime:
    """When the UTC day after `now`'s begins: a held campaign continues then."""
    return datetime.combine(utc_day(now) + timedelta(days=1), time(0), tzinfo=UTC)
