"""webhook_ingest settings (env prefix `FANOUT_WEBHOOK_INGEST_`).

Only the providers listed in `providers` have a webhook route; the default lists
none, so a deployment opens exactly the providers it uses (the local stack lists
the simulator). The simulator's webhook secret is `FANOUT_SIMULATOR_WEBHOOK_SECRET`
(shared with the simulator, required when the simulator is listed); every other
provider's credential is set here. A listed provider whose credential is empty
refuses every request with 401.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.kafka.producer import LINGER_MS
from shared.settings import Seconds, SecretName, ServiceSettings, db_pool_size

ProviderName = Literal["simulator", "ses", "sendgrid", "mailgun", "postmark"]


class Settings(ServiceSettings):
    """Knobs of webhook_ingest; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_WEBHOOK_INGEST_", extra="ignore")

    port: int = 8701
    providers: list[ProviderName] = Field(
        default_factory=list,
        description='Providers whose webhooks are accepted (JSON list, e.g. ["ses"]); the '
        "others have no route (404). Default: none.",
    )
    max_body_bytes: int = Field(1024 * 1024, gt=0, description="Largest webhook body (413 above).")
    timestamp_tolerance_s: Seconds = Field(
        300, description="Signed timestamps further than this from now are refused."
    )
    soft_bounce_threshold: int = Field(
        3, ge=1, description="Soft bounces in a row (no delivery between) that suppress."
    )
    known_runs_filter: bool = Field(
        True,
        description="Keep a Bloom filter of the addresses with a soft-bounce run, so a "
        "delivery is looked up in Postgres only when its address may have one; false: "
        "look every delivered address up.",
    )
    ses_topic_arns: list[str] = Field(
        default_factory=list,
        description="SNS topic ARNs whose notifications are accepted; empty refuses all.",
    )
    sns_cert_cache_size: int = Field(32, ge=1, description="SNS signing certificates cached.")
    sns_cert_ttl_s: Seconds = Field(
        3600, description="How long a fetched SNS signing certificate is trusted."
    )
    sns_cert_failure_ttl_s: Seconds = Field(
        60, description="How long a failed certificate fetch is remembered (not retried)."
    )
    sns_max_concurrent_fetches: int = Field(
        4, ge=1, description="SNS certificate fetches running at once, at most."
    )
    sns_fetch_timeout_s: Seconds = Field(
        5, description="Longest a request waits for a certificate fetch (then 503)."
    )
    sns_max_age_s: Seconds = Field(
        3600,
        description=(
            "SNS messages whose signed Timestamp is older are refused as replays. SNS retries "
            "an HTTPS delivery for at most 3,600 s (a hard limit of its delivery policy), and "
            "a retry keeps the original Timestamp, so one hour accepts every genuine retry."
        ),
    )
    sns_trusted_cert_url: str = Field(
        "",
        description="Outside production only: one more SigningCertURL trusted beside Amazon's "
        "(the local ESP simulator's, e.g. http://127.0.0.1:8705/ses/sns-certificate.pem).",
    )
    sendgrid_public_key: SecretStr = Field(
        SecretStr(""),
        description="SendGrid Event Webhook verification key (base64 DER SubjectPublicKeyInfo).",
    )
    mailgun_signing_key: SecretStr = Field(
        SecretStr(""), description="Mailgun webhook signing key."
    )
    mailgun_token_cache_size: int = Field(
        100_000, ge=1, description="Mailgun tokens remembered to refuse reuse."
    )
    postmark_username: str = Field("", description="Basic-auth user in the Postmark webhook URL.")
    postmark_password: SecretStr = Field(SecretStr(""), description="Basic-auth password.")
    kafka_send_timeout_s: Seconds = Field(
        15, description="Longest wait for Kafka to acknowledge a request's events."
    )
    kafka_linger_ms: int = Field(
        LINGER_MS,
        ge=0,
        le=1000,
        description="How long the producer holds a request's events to send them with other "
        "requests' in one Kafka request (ms). Longer: fewer, larger Kafka requests under a "
        "flood of webhooks; each webhook is answered about that much later.",
    )
    db_pool_size: int = db_pool_size(5)
    config_cache_size: int = Field(
        1_000, ge=1, description="Accounts' provider configurations whose webhook keys are cached."
    )
    config_ttl_s: Seconds = Field(
        30.0, description="How long a configuration's webhook key is used before re-reading."
    )

    @model_validator(mode="after")
    def _trust_only_amazon_in_production(self) -> Self:
        if self.sns_trusted_cert_url and self.common.environment == "production":
            raise ValueError(
                "FANOUT_WEBHOOK_INGEST_SNS_TRUSTED_CERT_URL trusts a non-Amazon SNS certificate; "
                "it is refused in production"
            )
        return self

    def required_secrets(self) -> tuple[SecretName, ...]:
        """Unsubscribe links are verified; simulator webhooks when the simulator is listed."""
        simulator: tuple[SecretName, ...] = (
            ("simulator_webhook_secret",) if "simulator" in self.providers else ()
        )
        return ("ops_token", "link_secret", *simulator)
