"""Template request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.api.models.common import Name, Text
from shared.http.examples import example_config

TEMPLATE_EXAMPLE: dict[str, Any] = {
    "name": "Welcome",
    "subject": "Welcome, {{ first_name }}!",
    "html_body": "<p>Hi {{ first_name }}, your plan is {{ attributes.plan }}.</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "text_body": "Hi {{ first_name }}, your plan is {{ attributes.plan }}.",
}
MAX_PART = 256 * 1024


class TemplateCreate(BaseModel):
    """A template: Jinja2 (sandboxed) subject and bodies using the lead's fields.

    Variables: `email`, `first_name`, `last_name`, `country`, `tags`,
    `attributes.<key>` and `unsubscribe_url` (appended when a body does not place it).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TEMPLATE_EXAMPLE]})

    name: Name
    subject: Text = Field(min_length=1, max_length=1000)
    html_body: Text = Field("", max_length=MAX_PART)
    text_body: Text = Field("", max_length=MAX_PART)


class TemplateUpdate(BaseModel):
    """Fields to change; the result is validated as a whole."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"subject": "Hello {{ first_name }}"}]}
    )

    name: Name | None = None
    subject: Text | None = Field(None, min_length=1, max_length=1000)
    html_body: Text | None = Field(None, max_length=MAX_PART)
    text_body: Text | None = Field(None, max_length=MAX_PART)


class Template(BaseModel):
    """A stored template."""

    model_config = example_config(
        {
            "id": "6f1c7f7e-5b0a-4c1e-9a53-3b7a5d2f9c10",
            **TEMPLATE_EXAMPLE,
            "created_at": "2026-11-23T09:00:00Z",
            "updated_at": "2026-11-23T09:00:00Z",
        }
    )

    id: UUID
    name: str
    subject: str
    html_body: str
    text_body: str
    created_at: datetime
    updated_at: datetime


class PreviewRequest(BaseModel):
    """Which lead to render the template for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"lead_id": "0b7f2f0e-4a36-4d77-9d5c-1f0f8c3a9e01"}]},
    )

    lead_id: UUID


class RenderedPreview(BaseModel):
    """The email as that lead would receive it (with a sample unsubscribe link)."""

    model_config = example_config(
        {
            "subject": "Welcome, Ada!",
            "html": "<p>Hi Ada, your plan is pro.</p>",
            "text": "Hi Ada, your plan is pro.\n\nUnsubscribe: https://...",
        }
    )

    subject: str
    html: str
    text: str
