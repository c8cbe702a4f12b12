"""sender settings (env prefix `FANOUT_SENDER_`).

Each ESP adapter's configuration is one nested field, set per value as
`FANOUT_SENDER_<PROVIDER>__<FIELD>` (e.g. `FANOUT_SENDER_SENDGRID__API_KEY`) or
whole as JSON in `FANOUT_SENDER_<PROVIDER>`; credentials are empty (the
provider refuses to start, naming the setting) until set.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.sender.campaigns import SPECS_MAX, TEMPLATES_MAX
from services.sender.providers.mailgun import MailgunConfig
from services.sender.providers.postmark import PostmarkConfig
from services.sender.providers.sendgrid import SendGridConfig
from services.sender.providers.ses import SesConfig
from services.sender.providers.smtp_config import SmtpConfig
from shared.reputation.domains import MAX_LIMITS, DomainLimit, check_distinct
from shared.settings import Seconds, SecretName, ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Knobs of the sender; connections live in `.common`."""

    model_config = SettingsConfigDict(
        env_prefix="FANOUT_SENDER_", env_nested_delimiter="__", extra="ignore"
    )

    port: int = 8704
    group_id: str = Field(
        "fanout-sender", description="Consumer group (the topic prefix is put in front)."
    )
    max_in_flight: int = Field(32, ge=1, description="Batches processed at once per instance.")
    retry_deadline_s: Seconds = Field(
        6 * 3600.0,
        description="How long (from a batch's first ESP call; default 6 h) throttled and "
        "transient answers are retried before the recipients still refused fail.",
    )
    retry_initial_s: Seconds = Field(0.2, description="First retry delay (then doubles).")
    retry_max_s: Seconds = Field(
        30.0, description="Longest backoff between retries (a Retry-After may be longer)."
    )
    retry_jitter_s: float = Field(0.2, ge=0, description="Random extra delay of each retry.")
    rate_budgets: dict[str, float] = Field(
        default_factory=lambda: {"simulator": 2000.0, "ses": 14.0},
        description="Emails per second per provider kind, shared by every sender instance "
        "(0 = none); a provider configuration's own `rate_per_s` wins for its campaigns.",
    )
    domain_limits: list[DomainLimit] = Field(
        default_factory=list,
        max_length=MAX_LIMITS,
        description="Rates per receiving domain group for providers and configurations "
        "without `domain_limits` of their own (JSON list of {domains, rate_per_s}); shared by "
        "every sender instance (docs/deliverability.md).",
    )
    domain_hold_s: Seconds = Field(
        1.0,
        description="Longest a call waits for its receiving domains' slots; recipients whose "
        "slot is further away are parked until it and re-emitted then.",
    )
    domain_burst_s: Seconds = Field(
        0.25, le=5.0, description="Burst a receiving domain's rate allows, in seconds of it."
    )
    flush_interval_s: Seconds = Field(1.0, description="Progress flush and offset commit period.")
    ledger_batches: int = Field(
        64,
        ge=1,
        description="Most batches whose ledger step (look-up, call in flight, outcome) one "
        "Postgres statement takes: the batches waiting for a step share its statement.",
    )
    ledger_linger_s: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Longest a batch waits for others to share a ledger step's statement "
        "(0: none). At an ESP quota batches come one at a time; without it each step of "
        "each batch is a statement of its own. At most three such waits per batch.",
    )
    spec_ttl_s: Seconds = Field(
        1.0,
        le=1.0,
        description="Longest a campaign's spec is cached when no change is announced (the "
        "bound on seeing a pause while the LISTEN connection is down).",
    )
    spec_cache_size: int = Field(
        SPECS_MAX, ge=1, description="Campaign specs cached at most (least recent dropped first)."
    )
    template_cache_size: int = Field(
        TEMPLATES_MAX,
        ge=1,
        description="Compiled templates kept at most (least recently used dropped first).",
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=6_000,
        description="Group session timeout: how soon a killed instance's partitions move to "
        "the others (6 s is the broker's minimum). Heartbeats come from the consumer's "
        "background task every third of it, not from batch processing, so slow ESP calls "
        "never count against it; a blocked event loop does. The rebalance timeout is "
        "separate: revoke_wait_s + 10 s (docs/operations.md).",
    )
    revoke_wait_s: Seconds = Field(
        20.0, description="Longest wait for in-flight batches of revoked partitions."
    )
    render_pause_ratio: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Pause a campaign once more than this share of its rendered recipients "
        "failed to render ...",
    )
    render_pause_min: int = Field(
        20, ge=1, description="... counted over at least this many recipients."
    )
    provider_cache_size: int = Field(
        1_000,
        ge=1,
        description="Adapters of accounts' provider configurations kept open at most "
        "(least recently used closed first).",
    )
    message_id_domain: str = "fanout.local"
    simulator_url: str = "http://127.0.0.1:8705"
    provider_timeout_s: Seconds = Field(30.0, description="Timeout of one ESP call.")
    db_pool_size: int = db_pool_size(10)
    sendgrid: SendGridConfig = Field(default_factory=SendGridConfig, description="SendGrid.")
    mailgun: MailgunConfig = Field(default_factory=MailgunConfig, description="Mailgun.")
    postmark: PostmarkConfig = Field(default_factory=PostmarkConfig, description="Postmark.")
    smtp: SmtpConfig = Field(default_factory=SmtpConfig, description="An SMTP relay.")
    ses: SesConfig = Field(default_factory=SesConfig, description="Amazon SES v2.")

    @field_validator("domain_limits")
    @classmethod
    def _each_domain_once(cls, limits: list[DomainLimit]) -> list[DomainLimit]:
        check_distinct(limits)
        return limits

    def required_secrets(self) -> tuple[SecretName, ...]:
        """Links are signed, provider credentials opened; the simulator's API key is needed
        only by campaigns sent through the simulator (without it they pause, naming it)."""
        return ("ops_token", "link_secret", "provider_key_secret")

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"
