"""What a provider configuration holds per kind: non-secret settings and write-only credentials.

Each kind has a settings model (shown back by the API) and a credentials model
(sealed at rest, never shown). Their fields are named as the sender's adapter
configuration fields are (`services/sender/providers/*Config`), so the sender
builds its adapter from `settings | credentials` as they are; `rate_per_s` is the
configuration's own send budget and is the sender's, not the adapter's, as are the
`domain_limits` (receiving-domain throttles, `shared.reputation.domains`); the
`WEBHOOK_FIELDS` are webhook_ingest's: the key that verifies the configuration's
webhooks (`POST /webhooks/{kind}/{configuration id}`; empty: the stack's own). The
models refuse unknown fields, so a misspelt name is a 422 naming it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from shared.reputation.domains import MAX_LIMITS, DomainLimit, check_distinct

Kind = Literal["simulator", "ses", "sendgrid", "mailgun", "postmark", "smtp"]
KINDS: tuple[Kind, ...] = ("simulator", "ses", "sendgrid", "mailgun", "postmark", "smtp")
Url = Field("", max_length=500, pattern=r"^(https?://\S+)?$", description="API base URL override.")
Required = Field(min_length=1, max_length=500)


class KindSettings(BaseModel):
    """Settings every kind has."""

    model_config = ConfigDict(extra="forbid")

    rate_per_s: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Emails per second through this configuration, shared by every sender "
        "instance; null: the sender's default for the kind.",
    )
    domain_limits: list[DomainLimit] = Field(
        default_factory=list,
        max_length=MAX_LIMITS,
        description="Rates per receiving domain group (e.g. gmail.com with googlemail.com), "
        "shared by every sender instance; mail to other domains is not slowed by them "
        "(docs/deliverability.md).",
    )

    @field_validator("domain_limits")
    @classmethod
    def _each_domain_once(cls, limits: list[DomainLimit]) -> list[DomainLimit]:
        check_distinct(limits)
        return limits


class Credentials(BaseModel):
    """Base of the credentials models."""

    model_config = ConfigDict(extra="forbid")


class SimulatorSettings(KindSettings):
    """The local ESP simulator; an empty base URL is the stack's simulator."""

    base_url: str = Url


class SimulatorCredentials(Credentials):
    """An empty key is the stack's simulator key (and secret, for its webhooks)."""

    api_key: SecretStr = SecretStr("")
    webhook_secret: SecretStr = SecretStr("")


class SesSettings(KindSettings):
    """Amazon SES v2: region and the configuration set that publishes events."""

    region: str = Field("us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    configuration_set_name: str = Field(
        min_length=1, max_length=64, description="Required: SES publishes events only through it."
    )
    endpoint_url: str = Url
    sns_topic_arns: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="SNS topics whose notifications are this configuration's events.",
    )


class SesCredentials(Credentials):
    access_key_id: str = Required
    secret_access_key: SecretStr = Required
    session_token: SecretStr | None = None


class SendGridSettings(KindSettings):
    base_url: str = Field("https://api.sendgrid.com", pattern=r"^https?://\S+$", max_length=500)
    webhook_public_key: str = Field(
        "", max_length=2000, description="The Signed Event Webhook's verification key (public)."
    )


class ApiKeyCredentials(Credentials):
    api_key: SecretStr = Required


class MailgunCredentials(ApiKeyCredentials):
    webhook_signing_key: SecretStr = SecretStr("")


class MailgunSettings(KindSettings):
    domain: str = Field(min_length=1, max_length=253, description="The sending domain at Mailgun.")
    region: Literal["us", "eu"] = "us"
    base_url: str = Url


class PostmarkSettings(KindSettings):
    message_stream: str = Field("broadcast", min_length=1, max_length=100)
    base_url: str = Field("https://api.postmarkapp.com", pattern=r"^https?://\S+$", max_length=500)


class PostmarkCredentials(Credentials):
    server_token: SecretStr = Required
    webhook_username: str = Field("", max_length=200)
    webhook_password: SecretStr = SecretStr("")


class SmtpSettings(KindSettings):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    verify_tls: bool = True
    connections: int = Field(8, ge=1, le=256)


class SmtpCredentials(Credentials):
    username: str = Field("", max_length=500)
    password: SecretStr = SecretStr("")


MODELS: dict[str, tuple[type[KindSettings], type[Credentials]]] = {
    "simulator": (SimulatorSettings, SimulatorCredentials),
    "ses": (SesSettings, SesCredentials),
    "sendgrid": (SendGridSettings, ApiKeyCredentials),
    "mailgun": (MailgunSettings, MailgunCredentials),
    "postmark": (PostmarkSettings, PostmarkCredentials),
    "smtp": (SmtpSettings, SmtpCredentials),
}


# the sender's own fields (never given to an adapter's configuration)
SENDER_FIELDS = frozenset({"rate_per_s", "domain_limits"})
# webhook_ingest's fields (the sender leaves them out of its adapters' configurations)
WEBHOOK_FIELDS = frozenset(
    {
        "webhook_secret",
        "sns_topic_arns",
        "webhook_public_key",
        "webhook_signing_key",
        "webhook_username",
        "webhook_password",
    }
)


def checked_settings(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` validated as `kind`'s settings (defaults filled); `ValidationError` if not."""
    return MODELS[kind][0].model_validate(values).model_dump(mode="json")


def checked_credentials(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` validated as `kind`'s credentials, in plain text (for sealing only)."""
    model = MODELS[kind][1].model_validate(values)
    return {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in model
        if value is not None
    }


__all__ = [
    "KINDS",
    "SENDER_FIELDS",
    "WEBHOOK_FIELDS",
    "Kind",
    "ValidationError",
    "checked_credentials",
    "checked_settings",
]
