"""guard settings (env prefix `FANOUT_GUARD_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import Seconds, ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Knobs of the guard; connections live in `.common`. The thresholds it judges by are
    each account's (`GET/PUT /guard` of campaign_api), not settings."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_GUARD_", extra="ignore")

    port: int = 8707
    group_id: str = Field("fanout-guard", description="Group of email.events (prefixed).")
    batch_max_events: int = Field(
        20_000, ge=1, description="Events counted and judged in one batch (one transaction)."
    )
    batch_max_seconds: Seconds = Field(
        1.0, description="Oldest event of a batch waits this long at most: how soon it judges."
    )
    retry_backoff_s: Seconds = Field(0.5, description="First back-off of a failed batch.")
    max_retry_backoff_s: Seconds = Field(10.0, description="Longest back-off of a batch.")
    recent_event_ids: int = Field(
        500_000,
        ge=0,
        description="Event ids remembered to count a re-published copy of an event once (a "
        "webhook retried after its events were published); about 100 bytes each.",
    )
    account_hours_kept: int = Field(
        48, ge=25, le=24 * 90, description="Hours of account-wide counts kept (the line reads 24)."
    )
    db_pool_size: int = db_pool_size(4)

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"
