"""lead_resolver settings (env prefix `FANOUT_LEAD_RESOLVER_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, db_pool_size


class Settings(ServiceSettings):
    """Knobs of the resolver; connections live in `.common`."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_LEAD_RESOLVER_", extra="ignore")

    port: int = 8703
    group_id: str = Field(
        "fanout-lead-resolver", description="Consumer group (the topic prefix is put in front)."
    )
    window: int = Field(
        200,
        ge=1,
        description="W: most batches outstanding (emitted, outcome not yet counted by the "
        "sender's flush, about once a second) per campaign; the resolver emits when a whole "
        "page fits under it.",
    )
    page_batches: int = Field(
        20, ge=1, description="Most batches emitted per campaign per scheduler turn."
    )
    idle_sleep_s: float = Field(
        1.0,
        gt=0,
        description="Longest pause when no campaign could progress: the sender's counting "
        "flush (room under the window) and every command wake the resolver at once.",
    )
    session_timeout_ms: int = Field(
        10_000,
        ge=6_000,
        description="Group session timeout: how soon a dead instance's "
        "campaigns move to another instance.",
    )
    known_suppressions_filter: bool = Field(
        True,
        description="Keep a Bloom filter of each account's suppressed addresses, so a page "
        "probes Postgres only for the leads it may hold; false: probe every lead.",
    )
    sweep_interval_s: float = Field(
        5.0, gt=0, description="How often owned active campaigns are looked up in Postgres."
    )
    db_pool_size: int = db_pool_size(5)

    @property
    def consumer_group(self) -> str:
        """The group id on the broker: prefixed like the topics, so deployments never mix."""
        return f"{self.common.topic_prefix}{self.group_id}"
