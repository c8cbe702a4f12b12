"""Response models of the reports API (they document the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""ClickHouse returns naive UTC times; the API always says UTC explicitly."""

_CAMPAIGN = "b1160709-f086-4bca-92de-ebc3433f5bb0"
_LEAD = "e5c2128b-dc22-4520-b4f5-486dc15eabbb"

# Steps both the funnel and a campaign's summary report, documented once.
Sent = Annotated[int, Field(examples=[9800])]
Delivered = Annotated[int, Field(examples=[9500])]
Bounced = Annotated[int, Field(examples=[300])]
Complained = Annotated[int, Field(examples=[4])]
Opened = Annotated[int, Field(examples=[4100])]
Clicked = Annotated[int, Field(examples=[900])]
Unsubscribed = Annotated[int, Field(examples=[25])]


class FunnelCounts(BaseModel):
    """Distinct leads that reached each step (a lead counts once per step)."""

    sent: Sent
    failed: int = Field(examples=[20])
    suppressed: int = Field(examples=[150])
    cancelled: int = Field(examples=[30])
    excluded: int = Field(
        description="Matched leads left out when the audience was resolved (never sent to).",
        examples=[42],
    )
    excluded_suppressed: int = Field(description="Excluded: address suppressed.", examples=[30])
    excluded_unsubscribed: int = Field(description="Excluded: unsubscribed.", examples=[9])
    excluded_invalid_email: int = Field(
        description="Excluded: an address the API would refuse.", examples=[3]
    )
    excluded_duplicate: int = Field(
        description="Excluded: the address of another lead of the batch.", examples=[0]
    )
    delivered: Delivered
    bounced: Bounced
    bounced_hard: int = Field(examples=[200])
    bounced_soft: int = Field(examples=[100])
    complained: Complained
    opened: Opened
    clicked: Clicked
    unsubscribed: Unsubscribed


class FunnelRates(BaseModel):
    """Ratios of the counts; null when the denominator is zero."""

    delivery_rate: float | None = Field(description="delivered / sent", examples=[0.969])
    bounce_rate: float | None = Field(description="bounced / sent", examples=[0.031])
    complaint_rate: float | None = Field(description="complained / delivered", examples=[0.0004])
    open_rate: float | None = Field(description="opened / delivered", examples=[0.43])
    click_rate: float | None = Field(description="clicked / delivered", examples=[0.095])
    click_to_open_rate: float | None = Field(description="clicked / opened", examples=[0.22])
    unsubscribe_rate: float | None = Field(description="unsubscribed / delivered", examples=[0.003])


class Funnel(BaseModel):
    """A campaign's funnel: matched (campaign state) and per-step distinct leads. Once the
    campaign completed, matched = sent + failed + suppressed + cancelled + excluded."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    matched: int | None = Field(
        description="Leads the campaign matched (null until resolving finished).", examples=[10000]
    )
    counts: FunnelCounts
    rates: FunnelRates


class Recipient(BaseModel):
    """A lead of a campaign with its latest status (by the documented precedence)."""

    lead_id: UUID = Field(examples=[_LEAD])
    email: str = Field(examples=["ada@example.com"])
    status: str = Field(examples=["bounced"])
    bounce_type: str | None = Field(examples=["hard"])
    reason: str = Field(examples=["550 5.1.1 user unknown"])
    status_at: UtcDatetime


class RecipientPage(BaseModel):
    """One page of recipients ordered by lead id; pass `next_cursor` as `cursor`."""

    items: list[Recipient]
    next_cursor: str | None = Field(examples=[_LEAD])


class CampaignSummary(BaseModel):
    """A campaign's headline numbers over the chosen time window."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    name: str | None = Field(examples=["November newsletter"])
    state: str | None = Field(examples=["completed"])
    matched: int | None = Field(examples=[10000])
    first_event_hour: UtcDatetime
    last_event_hour: UtcDatetime
    sent: Sent
    delivered: Delivered
    bounced: Bounced
    complained: Complained
    opened: Opened
    clicked: Clicked
    unsubscribed: Unsubscribed


class CampaignList(BaseModel):
    """The account's campaigns with events in the window, most recently active first."""

    items: list[CampaignSummary]


class LeadEvent(BaseModel):
    """One event of a lead."""

    event_id: UUID
    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    type: str = Field(examples=["delivered"])
    bounce_type: str | None = Field(examples=[None])
    reason: str = Field(examples=[""])
    provider: str = Field(examples=["simulator"])
    provider_message_id: str = Field(examples=["<4f2c@fanout.local>"])
    email: str = Field(examples=["ada@example.com"])
    occurred_at: UtcDatetime


class LeadHistory(BaseModel):
    """A lead's events across campaigns, oldest first."""

    lead_id: UUID = Field(examples=[_LEAD])
    events: list[LeadEvent]


class Breakdown(BaseModel):
    """Leads (bounced, or excluded) for one value of a dimension."""

    value: str = Field(examples=["gmail.com"])
    leads: int = Field(examples=[120])


class Bounces(BaseModel):
    """A campaign's bounced leads by type, reason and recipient domain (top 50 each)."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    total: int = Field(examples=[300])
    by_type: list[Breakdown]
    by_reason: list[Breakdown]
    by_domain: list[Breakdown]


class Exclusions(BaseModel):
    """A campaign's matched leads left out at resolve time, by reason and recipient domain
    (top 50 each); each lead is listed by the recipients report with status `excluded`."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    total: int = Field(examples=[42])
    by_reason: list[Breakdown] = Field(
        description="suppressed, unsubscribed, invalid_email or duplicate."
    )
    by_domain: list[Breakdown]


class Minute(BaseModel):
    """Send outcomes in one minute (distinct leads)."""

    minute: UtcDatetime
    sent: int = Field(examples=[5000])
    failed: int = Field(examples=[3])


class Timeline(BaseModel):
    """A campaign's sends per minute, in time order."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    minutes: list[Minute]


class ActivityMinute(BaseModel):
    """What the provider reported in one minute: distinct leads per event type (a lead
    that opened twice in the minute counts once; in two minutes, once in each)."""

    minute: UtcDatetime
    delivered: Delivered
    bounced: Bounced
    complained: Complained
    opened: Opened
    clicked: Clicked
    unsubscribed: Unsubscribed


class Activity(BaseModel):
    """A campaign's provider-reported events per minute, in time order."""

    campaign_id: UUID = Field(examples=[_CAMPAIGN])
    minutes: list[ActivityMinute]


class SqlRequest(BaseModel):
    """A read-only query for analysts."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        max_length=100_000,
        examples=["SELECT type, count() FROM email_events GROUP BY type"],
    )


class SqlResult(BaseModel):
    """Columns, their ClickHouse types and rows (JSON-encoded values); always the whole
    result: one over the row or byte limit is refused (400), never cut."""

    columns: list[str] = Field(examples=[["type", "count()"]])
    types: list[str] = Field(examples=[["LowCardinality(String)", "UInt64"]])
    rows: list[list[object]] = Field(examples=[[["sent", 9800]]])
