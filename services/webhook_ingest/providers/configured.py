"""Webhooks of accounts' provider configurations: `POST /webhooks/{kind}/{configuration id}`.

An account that sends through its own ESP account points that ESP's webhooks at
this path, so they are verified with the key of its provider configuration
(`shared.provider_configs`: SendGrid's verification key, Mailgun's signing key,
Postmark's basic-auth pair, SES's SNS topics, the simulator's secret). A
configuration that names no key of its own is verified with the stack's settings
(`FANOUT_WEBHOOK_INGEST_*`), as `POST /webhooks/{kind}` is. Every event must belong
to the configuration's account: events of another are dead-lettered, so a key an
account holds never writes another account's bounces or suppressions. An unknown
id, one of another kind and one of a kind not listed are the same 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from cachetools import TTLCache
from pydantic import SecretStr

from services.webhook_ingest.config import Settings
from services.webhook_ingest.providers.base import WebhookProvider
from shared.provider_configs import records
from shared.provider_configs.records import StoredConfig
from shared.settings import MissingSecret

log = structlog.get_logger(__name__)

Table = Callable[[Settings], Mapping[str, WebhookProvider]]


def _updates(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The webhook settings a configuration's own keys replace (empty: the stack's)."""
    if kind == "sendgrid" and values.get("webhook_public_key"):
        return {"sendgrid_public_key": SecretStr(values["webhook_public_key"])}
    if kind == "mailgun" and values.get("webhook_signing_key"):
        return {"mailgun_signing_key": SecretStr(values["webhook_signing_key"])}
    if kind == "postmark" and values.get("webhook_password"):
        return {
            "postmark_username": values.get("webhook_username", ""),
            "postmark_password": SecretStr(values["webhook_password"]),
        }
    if kind == "ses" and values.get("sns_topic_arns"):
        return {"ses_topic_arns": list(values["sns_topic_arns"])}
    return {}


class ConfiguredWebhooks:
    """The webhook provider of each configuration, read again after `config_ttl_s`."""

    def __init__(self, settings: Settings, stack: Mapping[str, WebhookProvider], table: Table):
        self._settings = settings
        self._stack = stack
        self._table = table
        self._cache: TTLCache[tuple[str, UUID], tuple[WebhookProvider, UUID] | None] = TTLCache(
            settings.config_cache_size, settings.config_ttl_s
        )

    async def get(
        self, pool: asyncpg.Pool, kind: str, config_id: UUID
    ) -> tuple[WebhookProvider, UUID] | None:
        """The provider verifying configuration `config_id`'s webhooks, and its account."""
        key = (kind, config_id)
        try:  # one look-up: `in` then `get` could straddle the entry's expiry and read None
            return self._cache[key]
        except KeyError:
            pass
        config = await records.load(pool, config_id)
        found = None
        if config is not None and config.kind == kind and kind in self._stack:
            found = (self._provider(config), config.account_id)
        self._cache[key] = found
        return found

    def _provider(self, config: StoredConfig) -> WebhookProvider:
        try:
            opened = config.open_credentials(records.sealer(self._settings.common))
        except MissingSecret:  # no sealing key here: only the stack's keys can verify
            log.warning(
                "webhook_ingest.provider_config_unreadable", provider_config_id=str(config.id)
            )
            opened = {}
        values = config.settings | opened
        if config.kind == "simulator" and values.get("webhook_secret"):
            secret = SecretStr(values["webhook_secret"])
            common = self._settings.common.model_copy(update={"simulator_webhook_secret": secret})
            return self._one("simulator", {"common": common})
        updates = _updates(config.kind, values)
        if not updates:
            return self._stack[config.kind]
        return self._one(config.kind, updates)

    def _one(self, kind: str, updates: dict[str, Any]) -> WebhookProvider:
        """Provider `kind` built as the stack's is, with `updates` to its settings."""
        return self._table(self._settings.model_copy(update={**updates, "providers": [kind]}))[kind]
