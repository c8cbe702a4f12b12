"""Settings shared by every service.

Each service has its own `BaseSettings` subclass with its own env prefix
(`FANOUT_SENDER_`, ...) for its knobs, and reads the connection settings below
through `CommonSettings` (prefix `FANOUT_`). Empty connection settings mean
"use the local stack that `fanout stack up` runs".

Secrets have no default anywhere: `fanout stack up` generates them per stack
(`<home>/secrets.env`), an operator supplies them otherwise, and a service
refuses to start without the ones it needs (`shared.secret_policy`). Only the
`test` environment fills a missing secret, with a random value made once per
process, so tests in one process agree with each other and nobody else knows it.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Root's home is private (0700); the Postgres server runs as `postgres` and must reach its
# data folder, so root's stack lives under /var/lib.
DEFAULT_HOME = (
    Path("/var/lib/fanout") if os.geteuid() == 0 else Path.home() / ".local" / "share" / "fanout"
)
DEFAULT_CACHE = Path.home() / ".cache" / "fanout"

SecretName = Literal[
    "link_secret",
    "simulator_webhook_secret",
    "simulator_api_key",
    "admin_token",
    "ops_token",
    "dkim_key_secret",
    "webhook_secrets_key",
    "provider_key_secret",
    "session_key",
]
SECRET_NAMES: tuple[SecretName, ...] = get_args(SecretName)


# A duration setting in seconds (a timeout, TTL, period or back-off): zero or less is refused,
# since it would mean "never wait" or a busy loop. Fields add their default and description.
Seconds = Annotated[float, Field(gt=0)]


class MissingSecret(RuntimeError):
    """A secret was used that is not configured (the start-up check names it first)."""


@cache
def _process_secret(name: str) -> SecretStr:
    """The test environment's value of secret `name`: random, made once per process."""
    del name  # one value per name (the cache key)
    return SecretStr(secrets.token_urlsafe(32))


def _secret(description: str) -> Any:
    return Field(None, description=f"{description} No default: generated per stack.")


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
    event_loop: Literal["asyncio", "uvloop"] = Field(
        "asyncio",
        description="The event loop of every service process: asyncio's own, or uvloop "
        "(libuv; less CPU per socket read, write and callback).",
    )
    kafka_consumer_stall_s: Seconds = Field(
        60.0,
        description="A consumer that fetched nothing for this long while the broker answers "
        "is rebuilt by its runner; /readyz reports it as not consuming meanwhile.",
    )
    clickhouse_url: str = Field(
        "",
        description="ClickHouse server URL (http://user:pass@host:8123/db). Empty: embedded chDB.",
    )
    link_secret: SecretStr | None = _secret("Signs unsubscribe links and tokens.")
    simulator_webhook_secret: SecretStr | None = _secret(
        "Signs the ESP simulator's webhooks (the simulator signs, webhook_ingest verifies)."
    )
    simulator_api_key: SecretStr | None = _secret(
        "Bearer key of the ESP simulator's API (the sender calls it)."
    )
    admin_token: SecretStr | None = _secret(
        "Operators' token of report_sink's POST /internal/sql (header X-Fanout-Admin-Token)."
    )
    ops_token: SecretStr | None = _secret(
        "Bearer token of every service's /readyz and /metrics (monitoring)."
    )
    dkim_key_secret: SecretStr | None = _secret(
        "Encrypts the DKIM private keys of sending domains at rest (campaign_api)."
    )
    webhook_secrets_key: SecretStr | None = _secret(
        "Encrypts the signing secrets of customers' webhook endpoints at rest "
        "(campaign_api stores them, the notifier signs with them)."
    )
    provider_key_secret: SecretStr | None = _secret(
        "Seals accounts' provider credentials at rest (campaign_api seals, the sender opens)."
    )
    session_key: SecretStr | None = _secret(
        "Seals the API key behind each dashboard session at rest (campaign_api)."
    )
    provider_key_secrets_previous: list[SecretStr] = Field(
        default_factory=list,
        description="Provider sealing secrets replaced by FANOUT_PROVIDER_KEY_SECRET (JSON "
        "list): they still open what they sealed until campaign_api has sealed it again.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8701",
        description="Base URL of webhook_ingest as recipients reach it (unsubscribe links).",
    )
    topic_prefix: str = Field("", description="Prefix added to every topic name.")
    webhook_private_destinations: bool | None = Field(
        None,
        description="Whether customers' webhook endpoints may be plain http and reach "
        "loopback or private addresses (SSRF). Unset: only in development and test.",
    )
    log_level: str = Field(
        "INFO",
        description="Level of the service's own logs; libraries' per-request lines need DEBUG.",
    )
    log_file: Path | None = Field(
        None,
        description="File the service writes its logs to, rotated by size (`fanout stack up` "
        "sets <home>/logs/<service>.log). Empty: JSON lines on stdout, for a supervisor.",
    )
    log_max_bytes: int = Field(
        20 * 1024 * 1024,
        ge=64 * 1024,
        description="Size at which the log file is rotated (renamed .1, older ones shift up).",
    )
    log_backups: int = Field(
        5,
        ge=1,
        le=100,
        description="Rotated log files kept (.1 to .N); the oldest is deleted beyond that.",
    )

    @model_validator(mode="after")
    def _fill_test_secrets(self) -> CommonSettings:
        if self.environment == "test":
            for name in SECRET_NAMES:
                if getattr(self, name) is None:
                    setattr(self, name, _process_secret(name))
        return self

    def secret(self, name: SecretName) -> str:
        """The value of secret `name`; `MissingSecret` when it is not configured."""
        value: SecretStr | None = getattr(self, name)
        if value is None or not value.get_secret_value():
            raise MissingSecret(f"{env_name(self, name)} is not set")
        return value.get_secret_value()

    @property
    def chdb_path(self) -> Path:
        """On-disk folder of the embedded ClickHouse engine."""
        return self.home / "chdb"


def env_name(settings: BaseSettings | type[BaseSettings], field: str) -> str:
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

    def required_secrets(self) -> tuple[SecretName, ...]:
        """The secrets this service cannot run without (checked before it starts).

        Every service serves `/readyz` and `/metrics` behind the operations token.
        """
        return ("ops_token",)
