"""How deliveries are attempted, retried and given up on (env prefix `FANOUT_NOTIFIER_`).

A settings class of its own, so the dispatcher, the backoff and the disabling take
exactly what they need. The default schedule is the Standard Webhooks specification's
example: after the first attempt, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and
24 h (about three days in all); an endpoint failing ten attempts in a row over 72 hours
is disabled (docs/webhooks-outbound.md).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import Seconds

RETRY_SCHEDULE_S: list[float] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


class DeliveryPolicy(BaseSettings):
    """Timeouts, the retry schedule and when an endpoint is disabled."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_NOTIFIER_", extra="ignore", frozen=True)

    request_timeout_s: Seconds = Field(15.0, le=60, description="One attempt's timeout.")
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: list(RETRY_SCHEDULE_S),
        min_length=1,
        description="Seconds before each retry of a failed delivery (JSON list); after the "
        "last, the delivery gives up (failed; replay it through the API).",
    )
    retry_jitter: float = Field(0.1, ge=0, lt=1, description="Retry delays move by this share.")
    max_retry_after_s: Seconds = Field(86_400, description="Longest Retry-After honoured.")
    # an endpoint is disabled after this many failed attempts in a row, spread over at
    # least this many hours without a success
    disable_after_failures: int = Field(10, ge=1, description="Failures in a row to disable.")
    disable_after_hours: float = Field(72.0, ge=0, description="Hours of failing to disable.")
