"""sender settings (env prefix `FANOUT_SENDER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.sender.campaigns import SPECS_MAX, TEMPLATES_MAX
from shared.settings import SecretName, ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Knobs of the sender; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_SENDER_", extra="ignore")

    port: int = 8704
    group_id: str = Field(
        "fanout-sender", description="Consumer group (the topic prefix is put in front)."
    )
    max_in_flight: int = Field(32, ge=1, description="Batches processed at once per instance.")
    max_attempts: int = Field(
        6, ge=1, description="ESP calls per batch before the remaining recipients fail."
    )
    retry_initial_s: float = Field(0.2, gt=0, description="First retry delay (then doubles).")
    retry_max_s: float = Field(10.0, gt=0, description="Longest retry delay.")
    retry_jitter_s: float = Field(0.2, ge=0, description="Random extra delay of each retry.")
    rate_budgets: dict[str, float] = Field(
        default_factory=lambda: {"simulator": 2000.0, "ses": 14.0},
        description="Emails per second per provider, shared by every sender instance (0 = none).",
    )
    flush_interval_s: float = Field(
        1.0, gt=0, description="Progress flush and offset commit period."
    )
    spec_ttl_s: float = Field(1.0, gt=0, description="How long a campaign's spec is cached.")
    spec_cache_size: int = Field(
        SPECS_MAX, ge=1, description="Campaign specs cached at most (least recent dropped first)."
    )
    template_cache_size: int = Field(
        TEMPLATES_MAX,
        ge=1,
        description="Compiled templates kept at most (least recently used dropped first).",
    )
    revoke_wait_s: float = Field(
        20.0, gt=0, description="Longest wait for in-flight batches of revoked partitions."
    )
    message_id_domain: str = "fanout.local"
    simulator_url: str = "http://127.0.0.1:8705"
    provider_timeout_s: float = Field(30.0, gt=0, description="Timeout of one ESP call.")
    db_pool_size: int = db_pool_size(10)

    def required_secrets(self) -> tuple[SecretName, ...]:
        """Links are signed; the simulator's API key is needed only by campaigns sent
        through the simulator (without it they fail as their provider is unavailable)."""
        return ("ops_token", "link_secret")

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"
