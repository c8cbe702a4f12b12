"""The simulator's wire format: bulk send request and response, webhook events, counters."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.simulator_status import MessageStatus

MAX_MESSAGES = 50


class MessageMetadata(BaseModel):
    """Ids the provider echoes back in every webhook event of the message."""

    model_config = ConfigDict(extra="ignore")

    account_id: UUID
    campaign_id: UUID
    lead_id: UUID


class BulkMessage(BaseModel):
    """One email of a bulk call."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=3, max_length=998, pattern=r"^<[^<>@\s]+@[^<>@\s]+>$")
    to: str = Field(min_length=1, max_length=320)
    subject: str = Field(max_length=998)
    html: str = ""
    text: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    metadata: MessageMetadata


class BulkRequest(BaseModel):
    """`POST /v1/messages/bulk`: up to 50 emails from one sender."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "Acme <news@acme.example>",
                    "reply_to": None,
                    "messages": [
                        {
                            "message_id": "<c1.l1@fanout.local>",
                            "to": "ada@example.com",
                            "subject": "Hello Ada",
                            "html": "<p>Hello Ada</p>",
                            "text": "Hello Ada",
                            "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                            "metadata": {
                                "account_id": "7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0001",
                                "campaign_id": "7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0002",
                                "lead_id": "7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0003",
                            },
                        }
                    ],
                }
            ]
        },
    )

    from_: str = Field(alias="from", min_length=3, max_length=998)
    reply_to: str | None = None
    messages: list[BulkMessage] = Field(min_length=1, max_length=MAX_MESSAGES)


class MessageResult(BaseModel):
    """The answer for one message, in request order."""

    message_id: str
    status: MessageStatus
    provider_message_id: str = ""
    reason: str = ""


class BulkResponse(BaseModel):
    """200 answer of a bulk call: one result per message, in order."""

    results: list[MessageResult]


EventType = Literal["delivered", "bounced", "complained", "opened", "clicked"]


class WebhookEvent(BaseModel):
    """One outcome event, as posted to the webhook URL."""

    id: UUID
    type: EventType
    message_id: str
    provider_message_id: str
    recipient: str
    occurred_at: str
    bounce_type: Literal["hard", "soft"] | None = None
    reason: str = ""
    metadata: dict[str, str]


class WebhookBatch(BaseModel):
    """The body of one webhook post (at most `webhook_batch_size` events)."""

    events: list[WebhookEvent]


class OutcomeCounts(BaseModel):
    """Outcomes decided for accepted unique messages."""

    delivered: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0
    opened: int = 0
    clicked: int = 0


class WebhookCounts(BaseModel):
    """Webhook delivery progress."""

    events_sent: int = 0
    events_pending: int = 0
    failed_attempts: int = 0


class DomainCounts(BaseModel):
    """One receiving domain's recipients: accepted, deferred for its rate, and when."""

    accepted: int = 0
    deferred: int = Field(0, description="Answered `throttled`: over the domain's rate.")
    first_accepted_at: float | None = Field(None, description="Unix time of the first.")
    last_accepted_at: float | None = Field(None, description="Unix time of the last.")
    peak_accepted_per_s: int = Field(0, description="Most accepted in one wall-clock second.")


class Counters(BaseModel):
    """`GET /v1/counters`: everything the simulator saw since start or the last reset."""

    calls: int = 0
    throttled_calls: int = 0
    server_errors: int = 0
    received: int = 0
    unique: int = 0
    duplicates: int = 0
    transient: int = 0
    rejected: int = 0
    throttled: int = 0
    outcomes: OutcomeCounts = Field(default_factory=OutcomeCounts)
    webhooks: WebhookCounts = Field(default_factory=WebhookCounts)
    domains: dict[str, DomainCounts] = Field(
        default_factory=dict, description="Per receiving domain (the first 1,000 seen)."
    )


class LoggedCall(BaseModel):
    """One campaign's part of one bulk call, as the request log keeps it."""

    campaign_id: UUID
    started_at: float = Field(description="When the call arrived (Unix time, seconds).")
    recipients: int
    outcome: Literal["ok", "throttled", "unavailable", "down"] = Field(
        description="ok, or why the whole call was refused (429, 503, down window)."
    )
    accepted: int = Field(0, description="Accepted for the first time.")
    duplicates: int = Field(0, description="Accepted before: answered again, not sent.")
    throttled: int = 0
    transient: int = 0
    rejected: int = 0
    delivered: int = Field(0, description="Outcomes decided for the accepted ones.")
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0


class RequestLogPage(BaseModel):
    """`GET /v1/requests`: the matching records, oldest first, and how complete the log is."""

    entries: list[LoggedCall]
    recorded: int = Field(description="Records written since start or reset (every campaign).")
    evicted: int = Field(description="Oldest records dropped to stay within the capacity.")
    capacity: int


class DownWindow(BaseModel):
    """`POST /v1/down`: be down for `seconds` from now (0 ends a window)."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=86_400, examples=[30])


class DownState(BaseModel):
    """Whether the bulk API is down, and for how much longer."""

    down: bool
    remaining_s: float


class AcceptedQuery(BaseModel):
    """`POST /v1/accepted`: which of these message ids were accepted."""

    model_config = ConfigDict(extra="forbid")

    message_ids: list[str] = Field(max_length=10_000)


class AcceptedAnswer(BaseModel):
    """The message ids of the query that were accepted since start or reset, in query order."""

    accepted: list[str]
