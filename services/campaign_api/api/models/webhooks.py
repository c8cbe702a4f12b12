"""Webhook endpoint bodies: registering, changing, rotating (docs/webhooks-outbound.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
