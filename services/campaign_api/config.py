"""campaign_api settings (env prefix `FANOUT_CAMPAIGN_API_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.campaign_api.dashboard.settings import DashboardSettings
from services.campaign_api.domains.settings import DomainSettings
from shared.http.rate_limits import RateLimitSpec, rate_limit_setting
from shared.settings import Seconds, SecretName, ServiceSettings, db_pool_size
from shared.templating import TemplateLimits


class Settings(ServiceSettings):
    """Knobs of the campaign API; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_CAMPAIGN_API_", extra="ignore")

    port: int = 8700
    max_body_bytes: int = Field(1024 * 1024, description="Largest JSON request body (413 above).")
    max_import_bytes: int = Field(
        4 * 1024**3, description="Largest lead import body, streamed (413 above)."
    )
    import_chunk_rows: int = Field(20_000, description="Rows per COPY into the staging table.")
    outbox_poll_seconds: float = Field(
        0.2, description="Outbox poll interval; NOTIFY wakes the relay sooner."
    )
    outbox_batch_size: int = 100
    scheduler_interval_seconds: float = Field(1.0, description="How often due schedules start.")
    stalled_after_seconds: Seconds = Field(
        600.0,
        description="Seconds without progress (updated_at) after which a running campaign "
        "shows `stalled` with its likely reason (and counts in fanout_campaigns_stalled).",
    )
    stall_check_seconds: Seconds = Field(
        30.0, description="How often stalled campaigns are counted."
    )
    lead_resolver_group_id: str = Field(
        "fanout-lead-resolver",
        description="lead_resolver's consumer group (prefixed like the topics), asked "
        "whether anyone consumes when a queued or resolving campaign stalls.",
    )
    sender_group_id: str = Field(
        "fanout-sender",
        description="The sender's consumer group (prefixed like the topics), asked whether "
        "anyone consumes when a sending campaign stalls.",
    )
    group_look_timeout_seconds: Seconds = Field(
        2.0, description="Longest wait for the broker's answer about a consumer group."
    )
    group_look_ttl_seconds: Seconds = Field(
        5.0, description="How long an answer about a consumer group is reused."
    )
    db_pool_size: int = db_pool_size(10)
    idempotency_ttl_seconds: Seconds = Field(
        86_400, description="How long an Idempotency-Key's answer is kept and replayed."
    )
    idempotency_purge_interval_seconds: Seconds = Field(
        3600, description="How often expired idempotency keys are deleted."
    )
    rate_limit: RateLimitSpec = rate_limit_setting()
    templates: TemplateLimits = Field(
        default_factory=TemplateLimits,
        description="Render budget of templates (env FANOUT_TEMPLATE_*), the sender's too.",
    )
    domains: DomainSettings = Field(
        default_factory=DomainSettings,
        description="Sending domains: verification's DNS resolver, SPF include, DKIM keys.",
    )
    dashboard: DashboardSettings = Field(
        default_factory=DashboardSettings,
        description="The web dashboard under /app (env FANOUT_DASHBOARD_*): the reports "
        "API it reads, session lifetimes, cookie policy (docs/dashboard.md).",
    )

    def required_secrets(self) -> tuple[SecretName, ...]:
        """The operations token, and the keys that seal DKIM keys, webhook secrets, provider
        credentials and the API keys behind dashboard sessions."""
        return (
            "ops_token",
            "dkim_key_secret",
            "webhook_secrets_key",
            "provider_key_secret",
            "session_key",
        )
