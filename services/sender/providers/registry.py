"""The provider of each campaign (`campaigns.provider`), created once per process, with its rate.

Adapters are built from the sender's settings (`FANOUT_SENDER_<PROVIDER>__<FIELD>`);
one whose configuration lacks a required value is `ProviderUnavailable` naming
the settings to set, and the campaign pauses with that reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from services.sender.config import Settings
from services.sender.providers.base import EmailProvider
from services.sender.providers.mailgun import MailgunProvider
from services.sender.providers.postmark import PostmarkProvider
from services.sender.providers.sendgrid import SendGridProvider
from services.sender.providers.ses import SesProvider
from services.sender.providers.settings import ProviderConfig
from services.sender.providers.simulator import SimulatorProvider
from services.sender.providers.smtp import SmtpProvider
from services.sender.rate import SendRate
from shared.settings import MissingSecret, env_name

log = structlog.get_logger(__name__)


class ProviderUnavailable(Exception):  # noqa: N818 - a condition, like ProviderStopped
    """The campaign's provider is unknown or cannot be set up (e.g. no credentials)."""


class ProviderPool:
    """Adapters by name, created on first use, each with its share of the send-rate budget."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._providers: dict[str, EmailProvider] = {}
        self._rates: dict[str, SendRate] = {}
        self._assigned = 1
        self._total = 1
        self._creating = asyncio.Lock()  # one adapter (and one rate bucket) per provider

    async def get(self, name: str) -> tuple[EmailProvider, SendRate]:
        """The adapter and rate of provider `name`; `ProviderUnavailable` if it has none."""
        async with self._creating:
            if name not in self._providers:
                await self._add(name)
        return self._providers[name], self._rates[name]

    async def _add(self, name: str) -> None:
        provider = self._create(name)
        rate = SendRate(self._settings.rate_budgets.get(name, 0.0))
        quota = await provider.max_send_rate()
        if quota is not None and (rate.budget_per_s <= 0 or quota < rate.budget_per_s):
            rate.set_budget(quota)
        rate.set_share(self._assigned, self._total)
        self._providers[name], self._rates[name] = provider, rate
        log.info("sender.provider_ready", provider=name, budget_per_s=rate.budget_per_s)

    def register(self, name: str, provider: EmailProvider, rate: SendRate) -> None:
        """Use `provider` for campaigns of provider `name` (tests, custom adapters)."""
        self._providers[name], self._rates[name] = provider, rate

    def set_share(self, assigned: int, total: int) -> None:
        """Every provider's rate follows this instance's share of the partitions."""
        self._assigned, self._total = assigned, total
        for rate in self._rates.values():
            rate.set_share(assigned, total)

    def rates(self) -> dict[str, SendRate]:
        """The rates of the providers in use."""
        return dict(self._rates)

    async def aclose(self) -> None:
        """Close every adapter."""
        for provider in self._providers.values():
            await provider.aclose()

    def _create(self, name: str) -> EmailProvider:
        settings = self._settings
        if name == "simulator":
            try:
                api_key = settings.common.secret("simulator_api_key")
            except MissingSecret as exc:
                raise ProviderUnavailable(f"simulator: {exc}") from exc
            return SimulatorProvider(
                settings.simulator_url,
                api_key,
                timeout_s=settings.provider_timeout_s,
                connections=settings.max_in_flight,
            )
        make = ADAPTERS.get(name)
        if make is None:
            raise ProviderUnavailable(f"unknown provider {name!r}")
        config: ProviderConfig = getattr(settings, name)
        unset = config.missing()
        if unset:
            needed = "; ".join(
                f"{env_name(settings, f'{name}__{field}')} ({_described(config, field)})"
                for field in unset
            )
            raise ProviderUnavailable(f"{name}: not configured: set {needed}")
        try:
            return make(config)
        except ValueError as exc:
            raise ProviderUnavailable(f"{name}: {exc}") from exc


def _described(config: ProviderConfig, field: str) -> str:
    return type(config).model_fields[field].description or field


# each adapter from its configuration (the sender's settings field of the same name)
ADAPTERS: dict[str, Callable[[Any], EmailProvider]] = {
    "sendgrid": SendGridProvider,
    "mailgun": MailgunProvider,
    "postmark": PostmarkProvider,
    "smtp": SmtpProvider,
    "ses": SesProvider,
}
