"""notifier settings (env prefix `FANOUT_NOTIFIER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.notifier.policy import DeliveryPolicy
from shared.settings import Seconds, SecretName, ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Knobs of the notifier; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_NOTIFIER_", extra="ignore")

    port: int = 8706
    group_id: str = Field("fanout-notifier", description="Group of email.events (prefixed).")
    # lead events are applied in batches: this many events, or the oldest this old
    batch_max_events: int = Field(5_000, ge=1, description="Events applied in one batch.")
    batch_max_seconds: Seconds = Field(1.0, description="Oldest event of a batch waits.")
    retry_backoff_s: Seconds = Field(0.5, description="First back-off of a failed batch.")
    max_retry_backoff_s: Seconds = Field(10.0, description="Longest back-off of a batch.")
    events_per_delivery: int = Field(100, ge=1, le=1000, description="Lead events per webhook.")
    endpoint_concurrency: int = Field(4, ge=1, le=64, description="Attempts per endpoint.")
    max_in_flight: int = Field(64, ge=1, description="Attempts in flight from this instance.")
    poll_interval_s: Seconds = Field(
        5.0,
        description="Longest wait between looks for due work: queued deliveries and campaign "
        "moves wake the notifier at once (NOTIFY), and a retry when it is due.",
    )
    retention_days: int = Field(30, ge=1, description="Finished deliveries are kept this long.")
    db_pool_size: int = db_pool_size(5)
    delivery: DeliveryPolicy = Field(
        default_factory=DeliveryPolicy,
        description="Timeouts, retries and disabling (env FANOUT_NOTIFIER_*, policy.py).",
    )

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"

    def required_secrets(self) -> tuple[SecretName, ...]:
        """It opens endpoints' signing secrets with FANOUT_WEBHOOK_SECRETS_KEY."""
        return ("ops_token", "webhook_secrets_key")
