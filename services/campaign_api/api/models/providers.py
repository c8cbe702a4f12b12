"""Provider configuration request and response bodies (credentials are write-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.campaign_api.api.models.common import Name
from shared.http.examples import example_config
from shared.provider_configs.kinds import Kind

ConfigState = Literal["active", "disabled"]
SETTINGS_DOC = (
    "Non-secret settings of the kind (docs/providers.md): e.g. `configuration_set_name` and "
    "`region` for ses, `domain` and `region` for mailgun, `message_stream` for postmark, "
    "`host`/`port`/`security` for smtp, `base_url` overrides, `rate_per_s` for every kind."
)
CREDENTIALS_DOC = (
    "Secrets of the kind (`api_key`, `server_token`, `access_key_id` + `secret_access_key`, "
    "`username` + `password`): sealed at rest, never returned or logged."
)
CREATE_EXAMPLE: dict[str, Any] = {
    "name": "sendgrid-eu",
    "kind": "sendgrid",
    "settings": {"base_url": "https://api.eu.sendgrid.com", "rate_per_s": 100},
    "credentials": {"api_key": "SG.xxxxxxxx"},
}


class ProviderConfigCreate(BaseModel):
    """A provider configuration: a named ESP account to send through."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CREATE_EXAMPLE]})

    name: Name
    kind: Kind
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_DOC)
    credentials: dict[str, Any] = Field(default_factory=dict, description=CREDENTIALS_DOC)


class ProviderConfigUpdate(BaseModel):
    """Fields to change. `settings` replaces the settings whole; `credentials` rotates them
    (and re-activates a configuration disabled for bad credentials)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"credentials": {"api_key": "SG.new"}}]}
    )

    name: Name | None = None
    settings: dict[str, Any] | None = Field(None, description=SETTINGS_DOC)
    credentials: dict[str, Any] | None = Field(None, description=CREDENTIALS_DOC)
    state: ConfigState | None = Field(None, description="`disabled` stops its campaigns' sends.")
    is_default: Literal[True] | None = Field(
        None, description="Make this the account's default (campaigns naming none use it)."
    )


class ProviderConfig(BaseModel):
    """A provider configuration as the API shows it: never its credentials."""

    model_config = example_config(
        {
            "id": "3c2d1e0f-7a6b-4c5d-8e9f-0a1b2c3d4e5f",
            "name": "sendgrid-eu",
            "kind": "sendgrid",
            "settings": {"base_url": "https://api.eu.sendgrid.com", "rate_per_s": 100.0},
            "credentials_set": True,
            "credentials_fingerprint": "9f2c4e1a7b3d5f60",
            "is_default": False,
            "state": "disabled",
            "state_reason": "sendgrid refused the call (HTTP 401): authorization required",
            "created_at": "2026-12-02T09:00:00Z",
            "updated_at": "2026-12-02T09:30:00Z",
        }
    )

    id: UUID
    name: str
    kind: Kind
    settings: dict[str, Any]
    credentials_set: bool = Field(description="Whether credentials are stored.")
    credentials_fingerprint: str | None = Field(
        description="A keyed digest of the credentials: changes when they are rotated."
    )
    is_default: bool
    state: ConfigState
    state_reason: str | None = Field(description="Why it is disabled (null when active).")
    created_at: datetime
    updated_at: datetime
