"""The provider of each campaign, created once per process, with its rate.

A campaign names its account's provider configuration (`campaigns.provider_config_id`,
`configured`). One saved before configurations existed names only a kind
(`campaigns.provider`): its adapter is built from the sender's settings
(`FANOUT_SENDER_<PROVIDER>__<FIELD>`); one whose configuration lacks a required value
is `ProviderUnavailable` naming the settings to set, and the campaign pauses with
that reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog

from services.sender.campaigns import CampaignSpec
from services.sender.config import Settings
from services.sender.domain_rates import DomainRates
from services.sender.providers.adapters import ADAPTERS, ProviderUnavailable
from services.sender.providers.base import EmailProvider
from services.sender.providers.configured import (
    Configured,
    ConfiguredProviders,
    budgeted,
    domain_rates,
)
from services.sender.providers.settings import ProviderConfig
from services.sender.providers.simulator import SimulatorProvider
from services.sender.rate import SendRate
from shared.settings import MissingSecret, env_name

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Chosen:
    """The stack's adapter of a kind, its rate and receiving-domain rates (no configuration
    of an account)."""

    provider: EmailProvider
    rate: SendRate
    domains: DomainRates
    config: None = None


class ProviderPool:
    """Adapters by name, created on first use, each with its share of the send-rate budget."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._providers: dict[str, EmailProvider] = {}
        self._rates: dict[str, SendRate] = {}
        self._domains: dict[str, DomainRates] = {}
        self._assigned = 1
        self._total = 1
        self._creating = asyncio.Lock()  # one adapter (and one rate bucket) per provider
        self.configured = ConfiguredProviders(settings)

    async def get(self, name: str) -> Chosen:
        """The adapter and rates of provider `name`; `ProviderUnavailable` if it has none."""
        async with self._creating:
            if name not in self._providers:
                await self._add(name)
        return Chosen(self._providers[name], self._rates[name], self._domains[name])

    async def for_campaign(self, db: asyncpg.Pool, spec: CampaignSpec) -> Configured | Chosen:
        """The adapter and rate of `spec`'s provider configuration; a campaign saved before
        configurations existed uses the stack's adapter of its kind."""
        if spec.provider_config_id is not None:
            return await self.configured.get(db, spec.provider_config_id)
        return await self.get(spec.provider)

    async def _add(self, name: str) -> None:
        provider = self._create(name)
        budget = self._settings.rate_budgets.get(name, 0.0)
        rate = await budgeted(provider, budget, (self._assigned, self._total))
        self.register(name, provider, rate)
        log.info("sender.provider_ready", provider=name, budget_per_s=rate.budget_per_s)

    def register(
        self,
        name: str,
        provider: EmailProvider,
        rate: SendRate,
        domains: DomainRates | None = None,
    ) -> None:
        """Use `provider` for campaigns of provider `name` (tests, custom adapters); its
        receiving-domain rates are the sender's defaults unless given."""
        domains = domains or domain_rates(self._settings, name, ())
        domains.set_share(self._assigned, self._total)
        self._providers[name], self._rates[name], self._domains[name] = provider, rate, domains

    def set_share(self, assigned: int, total: int) -> None:
        """Every provider's rate follows this instance's share of the partitions."""
        self._assigned, self._total = assigned, total
        for rate in self._rates.values():
            rate.set_share(assigned, total)
        for domains in self._domains.values():
            domains.set_share(assigned, total)
        self.configured.set_share(assigned, total)

    def rates(self) -> dict[str, SendRate]:
        """The rates of the providers in use."""
        return dict(self._rates)

    async def aclose(self) -> None:
        """Close every adapter."""
        for provider in self._providers.values():
            await provider.aclose()
        await self.configured.aclose()

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


__all__ = ["ADAPTERS", "ProviderPool", "ProviderUnavailable"]
