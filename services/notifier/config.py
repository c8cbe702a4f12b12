"""notifier settings (env prefix `FANOUT_NOTIFIER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import SecretName, ServiceSettings, db_pool_size

# The Standard Webhooks specification's example schedule: after the first attempt,
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (about three days in all).
RETRY_SCHEDULE_S: list[float] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


class Settings(ServiceSettings):
    """Knobs of the notifier; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_NOTIFIER_", extra="ignore")

    port: int = 8706
    group_id: str = Field(
        "fanout-notifier", description="Consumer group of email.events (the topic prefix first)."
    )
    batch_max_events: int = Field(
        5_000, ge=1, description="Apply lead events to deliveries when this many wait."
    )
    batch_max_seconds: float = Field(1.0, gt=0, description="...or when the oldest waited this.")
    retry_backoff_s: float = Field(0.5, gt=0, description="First back-off after a failed batch.")
    max_retry_backoff_s: float = Field(10.0, gt=0, description="Longest back-off of a batch.")
    events_per_delivery: int = Field(
        100, ge=1, le=1000, description="Most lead events one webhook carries (one type each)."
    )
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: list(RETRY_SCHEDULE_S),
        min_length=1,
        description="Seconds before each retry of a failed delivery (JSON list); after the "
        "last, the delivery gives up (failed; replay it through the API).",
    )
    retry_jitter: float = Field(
        0.1, ge=0, lt=1, description="Each retry delay is moved by up to this fraction."
    )
    max_retry_after_s: float = Field(
        86_400, gt=0, description="Longest Retry-After a receiver's answer may ask for."
    )
    request_timeout_s: float = Field(
        15.0, gt=0, le=60, description="How long one attempt waits for the receiver's answer."
    )
    endpoint_concurrency: int = Field(
        4, ge=1, le=64, description="Most attempts in flight to one endpoint (per instance)."
    )
    max_in_flight: int = Field(
        64, ge=1, description="Most attempts in flight from this instance in all."
    )
    poll_interval_s: float = Field(
        0.5, gt=0, description="How often due deliveries and new campaign changes are looked for."
    )
    disable_after_failures: int = Field(
        10, ge=1, description="An endpoint is disabled after this many failed attempts in a row..."
    )
    disable_after_hours: float = Field(
        72.0, ge=0, description="...spread over at least this many hours without a success."
    )
    retention_days: int = Field(
        30, ge=1, description="Finished deliveries and their attempts are kept this long."
    )
    db_pool_size: int = db_pool_size(5)

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"

    def required_secrets(self) -> tuple[SecretName, ...]:
        """It opens endpoints' signing secrets with FANOUT_WEBHOOK_SECRETS_KEY."""
        return ("ops_token", "webhook_secrets_key")
