"""Lead request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.campaign_api.leads import fields as rules
from shared.http.examples import example_config

LEAD_EXAMPLE: dict[str, Any] = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "country": "GB",
    "tags": ["vip", "newsletter"],
    "attributes": {"plan": "pro", "seats": 12},
}


def _check(field: str, value: Any) -> Any:
    try:
        return getattr(rules, f"clean_{field}")(value)
    except rules.LeadFieldError as exc:
        raise ValueError(exc.message) from exc


class LeadCreate(BaseModel):
    """A new lead. The email is validated and normalised (lower case)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [LEAD_EXAMPLE]})

    email: str = Field(max_length=320)
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2 code.")
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("email", "country", "tags", "attributes", mode="after")
    @classmethod
    def _rules(cls, value: Any, info: Any) -> Any:
        return _check(info.field_name, value)

    @field_validator("first_name", "last_name", mode="after")
    @classmethod
    def _names(cls, value: str | None, info: Any) -> str | None:
        try:
            return rules.clean_name(info.field_name, value)
        except rules.LeadFieldError as exc:
            raise ValueError(exc.message) from exc


class LeadUpdate(LeadCreate):
    """Fields to change; omitted fields stay, `null` clears a name or the country."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"first_name": "Ada", "tags": ["vip"]}]}
    )

    email: str | None = Field(None, max_length=320)  # type: ignore[assignment]
    tags: list[str] | None = None  # type: ignore[assignment]
    attributes: dict[str, Any] | None = None  # type: ignore[assignment]


class Lead(BaseModel):
    """A stored lead."""

    model_config = example_config(
        {
            "id": "0b7f2f0e-4a36-4d77-9d5c-1f0f8c3a9e01",
            **LEAD_EXAMPLE,
            "created_at": "2026-11-23T09:00:00Z",
            "updated_at": "2026-11-23T09:00:00Z",
            "unsubscribed_at": None,
        }
    )

    id: UUID
    email: str
    first_name: str | None
    last_name: str | None
    country: str | None
    tags: list[str]
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    unsubscribed_at: datetime | None


class RejectedLine(BaseModel):
    """A line of an import that was skipped."""

    line: int
    reason: str


class ImportResult(BaseModel):
    """What a bulk import did: valid rows imported, invalid rows skipped and listed."""

    model_config = example_config(
        {
            "rows": 3,
            "accepted": 2,
            "created": 2,
            "updated": 0,
            "skipped": 0,
            "rejected": 1,
            "rejected_rows": [{"line": 3, "reason": "email: an email address is required"}],
        }
    )

    rows: int = Field(description="Data lines read (blank lines excluded).")
    accepted: int = Field(description="Valid rows imported.")
    created: int = Field(description="New leads.")
    updated: int = Field(description="Existing leads updated (`on_conflict=update`).")
    skipped: int = Field(description="Existing leads left as they were (`on_conflict=skip`).")
    rejected: int = Field(description="Invalid rows skipped (all counted).")
    rejected_rows: list[RejectedLine] = Field(description="The first 100 rejected rows.")
