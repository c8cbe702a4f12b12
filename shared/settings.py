"""Settings shared by every service.

Each service has its own `BaseSettings` subclass with its own env prefix
(`FANOUT_SENDER_`, ...) for its knobs, and reads the connection settings below
through `CommonSettings` (prefix `FANOUT_`). Empty connection settings mean
"use the local stack that `fanout stack up` runs".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused outside development

# Root's home is private (0700); the Postgres server runs as `postgres` and must reach its
# data folder, so root's stack lives under /var/lib.
DEFAULT_HOME = (
    Path("/var/lib/fanout") if os.geteuid() == 0 else Path.home() / ".local" / "share" / "fanout"
)
DEFAULT_CACHE = Path.home() / ".cache" / "fanout"


class CommonSettings(BaseSettings):
    """Connections and secrets every service needs (env prefix `FANOUT_`)."""

    model_config = SettingsConfigDict(env_prefix="FANOUT_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Field(DEFAULT_HOME, description="Data directory of the local stack.")
    cache_dir: Path = Field(DEFAULT_CACHE, description="Downloaded artefacts (Kafka jars).")
    database_url: str = Field(
        "postgresql://fanout:fanout@127.0.0.1:55432/fanout",
        description="PostgreSQL DSN (asyncpg form).",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_consumer_stall_s: float = Field(
        60.0,
        gt=0,
        description="A consumer that fetched nothing for this long while the broker answers "
        "is rebuilt by its runner; /readyz reports it as not consuming meanwhile.",
    )
    clickhouse_url: str = Field(
        "",
        description="ClickHouse server URL (http://user:pass@host:8123/db). Empty: embedded chDB.",
    )
    signing_secret: SecretStr = Field(
        SecretStr(DEV_SECRET),
        description="Signs unsubscribe tokens and simulator webhooks.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8701",
        description="Base URL of webhook_ingest as recipients reach it (unsubscribe links).",
    )
    topic_prefix: str = Field("", description="Prefix added to every topic name.")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_development(self) -> CommonSettings:
        if (
            self.environment == "production"
            and self.signing_secret.get_secret_value() == DEV_SECRET
        ):
            raise ValueError(
                "FANOUT_SIGNING_SECRET is the development default; set a real secret in production"
            )
        return self

    @property
    def chdb_path(self) -> Path:
        """On-disk folder of the embedded ClickHouse engine."""
        return self.home / "chdb"


def env_name(settings: BaseSettings, field: str) -> str:
    """The environment variable that sets `field` of `settings` (e.g. FANOUT_SENDER_PORT)."""
    return f"{settings.model_config.get('env_prefix', '')}{field}".upper()


def db_pool_size(default: int) -> Any:
    """The `db_pool_size` field of a service that uses Postgres."""
    return Field(
        default,
        ge=1,
        description="Most Postgres connections this process opens (its pool's size).",
    )


class ServiceSettings(BaseSettings):
    """Base of every service's settings: its HTTP port plus the common connections."""

    model_config = SettingsConfigDict(extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8700
    common: CommonSettings = Field(default_factory=CommonSettings)
