"""The guard's thresholds and warm-up schedules: request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.campaign_api.api.models.domains import DomainName
from shared.http.examples import example_config
from shared.reputation import GuardThresholds
from shared.reputation.warmup import MAX_DAYS, DailyLimit


class GuardSettings(BaseModel):
    """The account's guard thresholds (docs/deliverability.md)."""

    model_config = example_config({"thresholds": GuardThresholds().model_dump(), "defaults": True})

    thresholds: GuardThresholds
    defaults: bool = Field(description="True while the account uses the default thresholds.")


class WarmupCreate(BaseModel):
    """A daily volume ramp for one of the account's sending domains or provider
    configurations: name exactly one of `domain` and `provider_config_id`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"domain": "news.example.com", "daily_limits": []}]},
    )

    domain: DomainName | None = Field(
        None, description="A sending domain of the account (GET /domains): its campaigns' mail."
    )
    provider_config_id: UUID | None = Field(
        None, description="A provider configuration of the account: its campaigns' mail."
    )
    starts_on: date | None = Field(None, description="Day 0 (a UTC date); default: today.")
    daily_limits: list[DailyLimit] = Field(
        default_factory=list,
        max_length=MAX_DAYS,
        description="Emails allowed on day 0, 1, 2, ...; no limit after the last day. Empty: "
        "the standard ramp (doubling from 50 a day for 15 days).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.domain is None) == (self.provider_config_id is None):
            raise ValueError("name exactly one of domain and provider_config_id")
        return self


class WarmupDay(BaseModel):
    """One day of a ramp: what it allows and what campaigns used of it."""

    day: date
    allowance: int | None = Field(description="Emails allowed (null: no limit any more).")
    used: int


class Warmup(BaseModel):
    """A warm-up schedule, with today's allowance and use."""

    model_config = example_config(
        {
            "id": "5f0c3a2e-7b1d-4c9e-8a6f-2d4b1e0c9a87",
            "domain": "news.example.com",
            "provider_config_id": None,
            "starts_on": "2026-12-02",
            "daily_limits": [50, 100, 200, 400, 800, 1600, 3200],
            "ends_on": "2026-12-09",
            "today": {"day": "2026-12-02", "allowance": 50, "used": 12},
            "created_at": "2026-12-02T08:00:00Z",
        }
    )

    id: UUID
    domain: str | None
    provider_config_id: UUID | None
    starts_on: date
    daily_limits: list[int] = Field(
        description="The limits in force (the standard ramp if none were given)."
    )
    ends_on: date = Field(description="The first day without a limit.")
    today: WarmupDay
    created_at: datetime
