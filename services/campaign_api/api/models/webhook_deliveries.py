"""Webhook delivery log and replay bodies (docs/webhooks-outbound.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


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
