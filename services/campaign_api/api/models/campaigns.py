"""Campaign request and response bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.campaign_api.api.models.common import Email, Name, Text
from services.campaign_api.api.models.conditions import WARNINGS_DOC, ConditionWarning
from services.campaign_api.campaigns.stalls import Stalled
from shared.campaigns import State
from shared.http.examples import example_config

Provider = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
CAMPAIGN_EXAMPLE: dict[str, Any] = {
    "name": "November newsletter",
    "from_email": "news@example.com",
    "from_name": "Example News",
    "reply_to": "support@example.com",
    "template_id": "6f1c7f7e-5b0a-4c1e-9a53-3b7a5d2f9c10",
    "condition": {"field": "country", "op": "eq", "value": "DE"},
    "scheduled_at": None,
    "provider_config_id": "3c2d1e0f-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
}
PROVIDER_CONFIG = Field(
    None,
    description="The account's provider configuration to send through (GET /providers); "
    "default: the account's default configuration.",
)
PROVIDER_KIND = Field(
    None,
    description="Instead of `provider_config_id`: the kind to send through (the account's "
    "default configuration if it is of this kind, else its oldest of this kind).",
)


class CampaignCreate(BaseModel):
    """A draft campaign, validated on save: the template must be the account's, the
    condition must parse, addresses must be valid, a scheduled time must be in the future."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CAMPAIGN_EXAMPLE]})

    name: Name
    from_email: Email
    from_name: Text = Field("", max_length=200)
    reply_to: Email | None = None
    template_id: UUID
    condition: Any = Field(description="The audience: a JSON condition (docs/conditions.md).")
    scheduled_at: AwareDatetime | None = Field(
        None, description="Launching a campaign with a future time schedules it."
    )
    provider_config_id: UUID | None = PROVIDER_CONFIG
    provider: Provider | None = PROVIDER_KIND


class CampaignUpdate(BaseModel):
    """Fields of a draft to change (only drafts can be edited)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "December newsletter"}]}
    )

    name: Name | None = None
    from_email: Email | None = None
    from_name: Text | None = Field(None, max_length=200)
    reply_to: Email | None = None
    template_id: UUID | None = None
    condition: Any = None
    scheduled_at: AwareDatetime | None = None
    provider_config_id: UUID | None = PROVIDER_CONFIG
    provider: Provider | None = PROVIDER_KIND


class ProviderWait(BaseModel):
    """The campaign is waiting on its email provider: it throttles or fails transiently.

    Nothing is lost meanwhile; the sender retries until the provider accepts (up to a
    deadline of hours). The wait ends by itself a few seconds after sending resumes.
    """

    reason: str = Field(description="The provider's latest answer, e.g. `429 Too Many Requests`.")
    since: datetime = Field(description="When this wait began.")

    @classmethod
    def of(cls, row: Mapping[str, Any], now: datetime) -> ProviderWait | None:
        """The wait the sender's lease on `row` shows at `now`, if it has not lapsed."""
        until = row.get("provider_wait_until")
        if until is None or until <= now:
            return None
        return cls(reason=row.get("provider_wait_reason") or "", since=row["provider_wait_since"])


class GuardPause(BaseModel):
    """The guard paused the campaign: its bounces or complaints crossed the account's
    thresholds (docs/deliverability.md). It resumes only with `override_guard=true`."""

    reason: str = Field(
        description="Why, as people read it, e.g. `paused by guard: complaint rate 0.4 % over "
        "the last 2,000 outcomes (limit 0.3 %)`."
    )
    paused_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> GuardPause | None:
        """The guard's hold on `row`, while it is paused by it."""
        reason = row.get("guard_reason")
        if reason is None or row.get("state") != "paused":
            return None
        return cls(reason=reason, paused_at=row["guard_paused_at"])


class Held(BaseModel):
    """The campaign waits until a time on purpose: its warm-up allowance of the day is used
    up (docs/deliverability.md). It continues by itself at `until`; nothing is lost."""

    reason: str = Field(
        description="E.g. `warm-up allowance of sending domain news.example.com (100 of 100) "
        "used up for 2026-12-02`."
    )
    until: datetime = Field(description="When it continues (the next UTC day).")

    @classmethod
    def of(cls, row: Mapping[str, Any], now: datetime) -> Held | None:
        """The resolver's hold on `row` at `now`, if it has not passed."""
        until = row.get("wait_until")
        if until is None or until <= now or row.get("wait_reason") is None:
            return None
        return cls(reason=row["wait_reason"], until=until)


class Campaign(BaseModel):
    """A campaign with its state and progress counters (updated by the workers).

    `matched` (set once the audience is resolved) counts every lead the condition matched,
    as the segment preview does; each ends either with a send outcome (`sent`, `failed`,
    `suppressed`, `cancelled`) or `excluded` at resolve time, with the reason. A completed
    campaign has matched = sent + failed + suppressed + cancelled + excluded.
    """

    model_config = example_config(
        {
            "id": "9a8b7c6d-1111-4222-8333-444455556666",
            **CAMPAIGN_EXAMPLE,
            "provider": "sendgrid",
            "state": "sending",
            "run_id": "0b7f2f0e-4a36-4d77-9d5c-1f0f8c3a9e01",
            "matched": 120000,
            "enqueued": 80000,
            "sent": 79000,
            "failed": 12,
            "suppressed": 300,
            "cancelled": 0,
            "excluded": 420,
            "excluded_suppressed": 300,
            "excluded_unsubscribed": 110,
            "excluded_invalid_email": 10,
            "excluded_duplicate": 0,
            "state_reason": None,
            "created_at": "2026-11-23T09:00:00Z",
            "updated_at": "2026-11-23T09:05:00Z",
            "launched_at": "2026-11-23T09:01:00Z",
            "completed_at": None,
            "provider_wait": {
                "reason": "simulated throttling",
                "since": "2026-11-23T09:04:12Z",
            },
            "guard": None,
            "guard_overridden_at": None,
            "held": None,
            "stalled": {
                "since": "2026-11-23T09:05:00Z",
                "reason": "provider_stopped",
                "detail": "the email provider is not accepting sends (simulated throttling); "
                "the sender keeps retrying until it does",
            },
        }
    )

    id: UUID
    name: str
    from_email: str
    from_name: str
    reply_to: str | None
    template_id: UUID
    condition: Any
    provider: str = Field(description="The kind of provider the campaign sends through.")
    provider_config_id: UUID | None = Field(
        description="Its provider configuration (null: saved before configurations existed, "
        "or finished and the configuration deleted since)."
    )
    state: State
    scheduled_at: datetime | None
    run_id: UUID | None
    matched: int | None = Field(description="Leads the condition matched (once resolved).")
    enqueued: int = Field(description="Matched leads put into send batches so far.")
    sent: int
    failed: int
    suppressed: int = Field(description="Suppressed or unsubscribed after the launch.")
    cancelled: int
    excluded: int = Field(description="Matched leads left out at resolve time, never sent to.")
    excluded_suppressed: int = Field(description="Excluded: the address was suppressed.")
    excluded_unsubscribed: int = Field(description="Excluded: the lead had unsubscribed.")
    excluded_invalid_email: int = Field(
        description="Excluded: an address the API would refuse (a row written around it)."
    )
    excluded_duplicate: int = Field(
        description="Excluded: the same address as another lead of the same send batch."
    )
    state_reason: str | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    completed_at: datetime | None
    provider_wait: ProviderWait | None = Field(
        None, description="Set while sending waits on the provider (throttling, transient errors)."
    )
    guard: GuardPause | None = Field(
        None,
        description="Set while the guard holds it paused for its bounces or complaints "
        "(resume with `override_guard=true`); null otherwise.",
    )
    guard_overridden_at: datetime | None = Field(
        None,
        description="When its owner resumed it over the guard, which leaves it alone since.",
    )
    held: Held | None = Field(
        None,
        description="Set while it waits for the next day's warm-up allowance; null otherwise.",
    )
    stalled: Stalled | None = Field(
        None,
        description="Set while it is queued, resolving or sending and its progress has not "
        "moved for the stall threshold; null while it progresses.",
    )
    warnings: list[ConditionWarning] = Field(
        default_factory=list,
        description=WARNINGS_DOC + " Only in the answers of POST /campaigns and PATCH.",
    )
