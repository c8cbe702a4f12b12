"""Settings of the ESP simulator (env prefix `FANOUT_ESP_SIMULATOR_`).

`Knobs` are the behaviour settings that can also be changed at runtime through
`POST /v1/config`; the rest is fixed for the life of the process.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_settings import SettingsConfigDict

from services.esp_simulator.dialects.settings import DialectSettings
from shared.settings import Seconds, SecretName, ServiceSettings

Share = Annotated[float, Field(ge=0, le=1)]  # of calls, recipients or emails
NonNegative = Annotated[float, Field(ge=0)]
Domain = Annotated[str, StringConstraints(to_lower=True, min_length=1, max_length=253)]
EmailsPerSecond = Annotated[float, Field(gt=0, le=1_000_000)]


class Knobs(BaseModel):
    """How the simulated provider behaves. Probabilities are in [0, 1]."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_p50_ms: NonNegative = Field(0.0, description="Median call latency.")
    latency_p99_ms: NonNegative = Field(
        0.0, description="99th percentile latency (lognormal); <= p50 means constant."
    )
    rate_limit_per_s: NonNegative = Field(
        0.0, description="Emails per second (token bucket); 0 = unlimited."
    )
    rate_burst_s: Seconds = Field(
        1.0, description="Bucket size in seconds of rate (at least one full batch)."
    )
    error_5xx_rate: Share = Field(0.0, description="Share of calls answered 503.")
    throttle_429_rate: Share = Field(
        0.0, description="Share of calls answered 429 whatever the rate."
    )
    throttle_retry_after_s: int = Field(1, ge=0, description="Retry-After of random 429s.")
    recipient_throttle_rate: Share = Field(0.0, description="Per recipient: answered `throttled`.")
    transient_rate: Share = Field(0.0, description="Per recipient: answered `transient_error`.")
    reject_rate: Share = Field(0.0, description="Per recipient: answered `rejected`.")
    hard_bounce_rate: Share = Field(0.0, description="Accepted mail that hard-bounces.")
    soft_bounce_rate: Share = Field(0.0, description="Accepted mail that soft-bounces.")
    complaint_rate: Share = Field(0.0, description="Delivered mail complained about.")
    complaint_spike_after: int = Field(
        0,
        ge=0,
        description="After this many messages accepted (since start or reset), delivered mail "
        "is complained about at `complaint_spike_rate` instead (a list that turns bad); 0: never.",
    )
    complaint_spike_rate: Share = Field(0.0, description="The complaint rate after the spike.")
    domain_rate_limits: dict[Domain, EmailsPerSecond] = Field(
        default_factory=dict,
        max_length=100,
        description="Receiving domain → emails per second it accepts (bucket of `rate_burst_s`); "
        "recipients beyond are answered `throttled` with a 421 4.7.28 rate-limit deferral.",
    )
    open_rate: Share = Field(0.0, description="Delivered mail opened.")
    click_rate: Share = Field(0.0, description="Opened mail clicked.")
    outcome_delay_ms: NonNegative = Field(
        0.0, description="From acceptance to the delivered/bounced event."
    )
    engagement_delay_ms: NonNegative = Field(
        0.0, description="From delivery to complained/opened (and opened to clicked)."
    )
    seed: int | None = Field(None, description="Seed of the random rolls; None = random.")
    webhook_url: str = Field(
        "http://127.0.0.1:8701/webhooks/simulator",
        description="Where outcome events are posted; empty = not posted.",
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> Self:
        if self.recipient_throttle_rate + self.transient_rate + self.reject_rate > 1:
            raise ValueError("recipient_throttle_rate + transient_rate + reject_rate exceed 1")
        if self.hard_bounce_rate + self.soft_bounce_rate > 1:
            raise ValueError("hard_bounce_rate + soft_bounce_rate exceed 1")
        return self


class Settings(ServiceSettings, Knobs, DialectSettings):
    """The simulator process: its port, API key, webhook delivery, initial knobs and the
    provider dialects it speaks."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_ESP_SIMULATOR_", extra="ignore")

    port: int = 8705
    dns_port: int = Field(
        8753, ge=0, le=65535, description="UDP port of its DNS server (docs/domains.md)."
    )
    webhook_batch_size: int = Field(500, ge=1, le=1000, description="Events per webhook post.")
    webhook_flush_ms: float = Field(200, gt=0, description="Longest wait to fill a post.")
    webhook_queue_max: int = Field(
        500_000,
        ge=1,
        description="Events kept for delivery; when full, bulk calls answer 503 (nothing lost).",
    )
    webhook_concurrency: int = Field(1, ge=1, le=64, description="Webhook posts in flight.")
    webhook_timeout_s: Seconds = Field(10.0, description="Timeout of one webhook post.")
    webhook_retry_base_s: Seconds = Field(0.5, description="First retry delay (doubles).")
    webhook_retry_max_s: Seconds = Field(30.0, description="Longest retry delay.")
    request_log_max: int = Field(
        100_000,
        ge=0,
        description="Call records kept for `GET /v1/requests` (the newest; ~250 bytes each).",
    )

    def required_secrets(self) -> tuple[SecretName, ...]:
        """Its API key (FANOUT_SIMULATOR_API_KEY) and the key its webhooks are signed with."""
        return ("ops_token", "simulator_api_key", "simulator_webhook_secret")

    def knobs(self) -> Knobs:
        """The runtime-changeable part of these settings."""
        return Knobs.model_validate(self.model_dump(include=set(Knobs.model_fields)))
