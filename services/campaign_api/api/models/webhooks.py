"""Webhook endpoint, delivery and replay bodies (docs/webhooks-outbound.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.campaign_api.api.models.common import Text
from shared.outbound.destinations import MAX_URL
from shared.outbound.event_types import WebhookEventType

MAX_OVERLAP_S = 7 * 24 * 3600
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_URL)]
EventTypes = Annotated[list[WebhookEventType], Field(min_length=1, max_length=32)]
Description = Annotated[Text, Field(max_length=500)]
ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": "0b8c5d1f-3b7a-4f0e-9a53-3b7a5d2f9c10",
    "url": "https://hooks.example.com/fanout",
    "description": "CRM sync",
    "event_types": ["campaign.completed", "campaign.paused", "lead.bounced", "lead.complained"],
    "status": "enabled",
    "disabled_reason": None,
    "disabled_at": None,
    "failing_since": None,
    "consecutive_failures": 0,
    "previous_secret_expires_at": None,
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T09:00:00Z",
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8wU3Xqk2kU0="


class EndpointCreate(BaseModel):
    """Where to POST webhooks and which event types to send there."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {k: ENDPOINT_EXAMPLE[k] for k in ("url", "description", "event_types")},
            ]
        },
    )

    url: Url = Field(description="https; loopback and private addresses are refused.")
    event_types: EventTypes
    description: Description = ""


class EndpointUpdate(BaseModel):
    """Fields to change; `enabled: true` re-enables a disabled endpoint (its streak reset)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"enabled": True}, {"event_types": ["lead.bounced"]}]},
    )

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class Endpoint(BaseModel):
    """A webhook endpoint; its secret is shown only when created or rotated."""

    model_config = ConfigDict(json_schema_extra={"examples": [ENDPOINT_EXAMPLE]})

    id: UUID
    url: str
    description: str
    event_types: list[str]
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = Field(
        description="Why it was disabled (by the API or automatically after failing for too long)."
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="First failure of the current streak.")
    consecutive_failures: int
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation signs too."
    )
    created_at: datetime
    updated_at: datetime


class NewEndpoint(Endpoint):
    """A created endpoint with its signing secret: store it now, it is not shown again."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**ENDPOINT_EXAMPLE, "secret": SECRET_EXAMPLE}]}
    )

    secret: str


class RotateSecret(BaseModel):
    """How long the current secret keeps signing beside the new one."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"overlap_seconds": 86400}]}
    )

    overlap_seconds: int = Field(86_400, ge=0, le=MAX_OVERLAP_S)


class RotatedSecret(BaseModel):
    """The new secret (shown once) and when the previous one stops signing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"secret": SECRET_EXAMPLE, "previous_secret_expires_at": "2026-11-24T09:00:00Z"}
            ]
        }
    )

    secret: str
    previous_secret_expires_at: datetime | None


class Attempt(BaseModel):
    """One HTTP attempt of a delivery."""

    attempted_at: datetime
    status_code: int | None = Field(description="The receiver's answer; null if none came.")
    latency_ms: int
    error: str | None
    succeeded: bool


ATTEMPT_EXAMPLE: dict[str, Any] = {
    "attempted_at": "2026-11-23T09:00:01Z",
    "status_code": 500,
    "latency_ms": 84,
    "error": "HTTP 500",
    "succeeded": False,
}


class Delivery(BaseModel):
    """One webhook message: its `id` is the `webhook-id` header, the same on every attempt."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c2a57-1d7e-4d8f-8f7a-2a4cfa4d1f10",
                    "event_type": "lead.bounced",
                    "events": 3,
                    "status": "pending",
                    "attempts": 1,
                    "next_attempt_at": "2026-11-23T09:00:06Z",
                    "last_attempt_at": "2026-11-23T09:00:01Z",
                    "last_status_code": 500,
                    "last_error": "HTTP 500",
                    "created_at": "2026-11-23T09:00:00Z",
                    "completed_at": None,
                    "attempt_log": [ATTEMPT_EXAMPLE],
                }
            ]
        }
    )

    id: UUID
    event_type: str
    events: int = Field(description="Events in the body (lead events are batched).")
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    attempt_log: list[Attempt] = Field(description="The latest attempts, oldest first.")


class ReplayRequest(BaseModel):
    """Replay one delivery (`delivery_id`), or those created in [`since`, `until`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"delivery_id": "5f0c2a57-1d7e-4d8f-8f7a-2a4cfa4d1f10"},
                {"since": "2026-11-23T00:00:00Z", "until": "2026-11-24T00:00:00Z"},
            ]
        },
    )

    delivery_id: UUID | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    only_failed: bool = Field(True, description="With a range: only deliveries that gave up.")


class ReplayResult(BaseModel):
    """How many deliveries were queued again; `next_since` continues a range cut short."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"replayed": 12, "next_since": None}]}
    )

    replayed: int
    next_since: datetime | None = None
