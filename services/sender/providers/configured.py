"""Adapters of accounts' provider configurations: one per configuration, bounded, rotated.

A campaign names its account's provider configuration; the sender builds that
configuration's adapter from its settings and its credentials, opened here and
nowhere else (`shared.provider_configs`), with a send rate of its own: the
configuration's `rate_per_s` (else the sender's budget for the kind), capped by
the provider's own quota and split across sender instances by partition share.
Configurations are read again at most every `spec_ttl_s`; a changed one (rotated
credentials, new settings, re-enabled) gets a new adapter. Adapters live in a
bounded LRU; one evicted or replaced is closed after `provider_timeout_s`, so a
call still using it finishes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from cachetools import LRUCache, TTLCache
from cryptography.fernet import InvalidToken
from pydantic import ValidationError

from services.sender.config import Settings
from services.sender.domain_rates import DomainRates
from services.sender.providers.adapters import ADAPTERS, ProviderUnavailable
from services.sender.providers.base import EmailProvider
from services.sender.providers.simulator import SimulatorProvider
from services.sender.rate import SendRate
from shared.provider_configs import records
from shared.provider_configs.kinds import SENDER_FIELDS, WEBHOOK_FIELDS
from shared.provider_configs.records import StoredConfig
from shared.reputation.domains import DomainLimit
from shared.sealing import UnknownSealingKey
from shared.settings import MissingSecret

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Configured:
    """A configuration's adapter, rate and receiving-domain rates, built from `config` (that
    version of it)."""

    config: StoredConfig
    provider: EmailProvider
    rate: SendRate
    domains: DomainRates


def domain_rates(settings: Settings, name: str, limits: Sequence[DomainLimit]) -> DomainRates:
    """The receiving-domain rates of a provider: its own limits, else the sender's default
    `domain_limits` (`services.sender.domain_rates`)."""
    return DomainRates(
        name,
        limits or settings.domain_limits,
        hold_s=settings.domain_hold_s,
        burst_s=settings.domain_burst_s,
    )


async def budgeted(
    provider: EmailProvider, budget_per_s: float, share: tuple[int, int]
) -> SendRate:
    """The rate of `provider`: `budget_per_s`, or the provider's own quota when lower or when
    there is no budget; this instance's `share` (assigned, total partitions) of it."""
    rate = SendRate(budget_per_s)
    quota = await provider.max_send_rate()
    if quota is not None and (rate.budget_per_s <= 0 or quota < rate.budget_per_s):
        rate.set_budget(quota)
    rate.set_share(*share)
    return rate


class _Adapters(LRUCache[UUID, Configured]):
    """The LRU of adapters; an evicted one is handed to `retire`."""

    def __init__(self, maxsize: int, retire: Any) -> None:
        super().__init__(maxsize)
        self._retire = retire

    def popitem(self) -> tuple[UUID, Configured]:
        key, evicted = super().popitem()
        self._retire(evicted.provider)
        return key, evicted


class ConfiguredProviders:
    """The adapters of provider configurations in use by this sender instance."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._configs: TTLCache[UUID, StoredConfig | None] = TTLCache(
            settings.provider_cache_size, settings.spec_ttl_s
        )
        self._adapters = _Adapters(settings.provider_cache_size, self._retire)
        self._closing: dict[asyncio.Task[None], EmailProvider] = {}
        self._creating = asyncio.Lock()
        self._loading: dict[UUID, asyncio.Future[StoredConfig | None]] = {}
        self.share = (1, 1)

    async def get(self, db: asyncpg.Pool, config_id: UUID) -> Configured:
        """The adapter of configuration `config_id`; `ProviderUnavailable` saying why not."""
        config = await self._config(db, config_id)
        if config is None:
            raise ProviderUnavailable("its provider configuration was deleted")
        if config.state != "active":
            reason = config.state_reason or "no reason given"
            raise ProviderUnavailable(
                f"provider configuration {config.name!r} is disabled: {reason}"
            )
        async with self._creating:
            current = self._adapters.get(config_id)
            if current is not None and current.config.updated_at == config.updated_at:
                return current
            if current is not None:
                self._retire(current.provider)
            made = await self._build(config)
            self._adapters[config_id] = made
        log.info(
            "sender.provider_config_ready", provider_config_id=str(config_id), kind=config.kind
        )
        return made

    async def disable(self, db: asyncpg.Pool, config: StoredConfig, reason: str) -> None:
        """Record that the provider refused `config` as a whole (bad credentials, suspended)."""
        if await records.disable(db, config, reason):
            log.warning(
                "sender.provider_config_disabled", provider_config_id=str(config.id), reason=reason
            )
        self._configs.pop(config.id, None)

    def set_share(self, assigned: int, total: int) -> None:
        """Every configuration's rate follows this instance's share of the partitions."""
        self.share = (assigned, total)
        for made in self._adapters.values():
            made.rate.set_share(assigned, total)
            made.domains.set_share(assigned, total)

    async def aclose(self) -> None:
        """Close every adapter, those waiting to be closed too."""
        retiring = list(self._closing.items())
        for task, provider in retiring:
            task.cancel()
            await provider.aclose()
        for made in list(self._adapters.values()):
            await made.provider.aclose()
        self._adapters.clear()

    async def _config(self, db: asyncpg.Pool, config_id: UUID) -> StoredConfig | None:
        try:  # one look-up: `in` then `get` could straddle the entry's expiry (every
            # second) and read None, "deleted", pausing a campaign whose configuration exists
            return self._configs[config_id]
        except KeyError:
            pass
        # one read per configuration at a time: when the cached one expires, every batch in
        # flight asks at once (up to max_in_flight reads, each wanting a connection)
        loading = self._loading.get(config_id)
        if loading is None:
            loading = asyncio.ensure_future(records.load(db, config_id))
            self._loading[config_id] = loading
            loading.add_done_callback(lambda _done: self._loading.pop(config_id, None))
        config = await asyncio.shield(loading)
        self._configs[config_id] = config
        return config

    async def _build(self, config: StoredConfig) -> Configured:
        settings = self._settings
        try:
            credentials = config.open_credentials(records.sealer(settings.common))
        except (UnknownSealingKey, InvalidToken) as exc:
            raise ProviderUnavailable(
                f"the credentials of provider configuration {config.name!r} cannot be opened "
                f"({type(exc).__name__}): FANOUT_PROVIDER_KEY_SECRET(S_PREVIOUS) differ from "
                "campaign_api's"
            ) from exc
        provider = self._adapter(config, credentials)
        budget = config.settings.get("rate_per_s") or settings.rate_budgets.get(config.kind, 0.0)
        rate = await budgeted(provider, budget, self.share)
        limits = [DomainLimit.model_validate(v) for v in config.settings.get("domain_limits", [])]
        domains = domain_rates(settings, config.kind, limits)
        domains.set_share(*self.share)
        return Configured(config, provider, rate, domains)

    def _adapter(self, config: StoredConfig, credentials: dict[str, Any]) -> EmailProvider:
        settings = self._settings
        values = {k: v for k, v in (config.settings | credentials).items() if v != ""}
        values = {
            k: v for k, v in values.items() if k not in SENDER_FIELDS and k not in WEBHOOK_FIELDS
        }
        if config.kind == "simulator":
            key = values.get("api_key") or self._stack_simulator_key(config, values)
            return SimulatorProvider(
                values.get("base_url") or settings.simulator_url,
                key,
                timeout_s=settings.provider_timeout_s,
                connections=settings.max_in_flight,
            )
        model = type(getattr(settings, config.kind))
        try:
            return ADAPTERS[config.kind](model.model_validate(values))
        except ValidationError as exc:  # its own text shows the input: credentials, maybe
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ProviderUnavailable(f"provider configuration {config.name!r}: {detail}") from exc
        except ValueError as exc:
            raise ProviderUnavailable(f"provider configuration {config.name!r}: {exc}") from exc

    def _stack_simulator_key(self, config: StoredConfig, values: dict[str, Any]) -> str:
        """The stack's simulator key, for the stack's simulator only: never sent to a base
        URL an account chose."""
        if values.get("base_url"):
            raise ProviderUnavailable(
                f"provider configuration {config.name!r} names its own simulator base_url "
                "but no api_key"
            )
        try:
            return self._settings.common.secret("simulator_api_key")
        except MissingSecret as exc:
            raise ProviderUnavailable(f"simulator: {exc}") from exc

    def _retire(self, provider: EmailProvider) -> None:
        """Close `provider` once a call that may still use it has timed out."""

        async def close_later() -> None:
            await asyncio.sleep(self._settings.provider_timeout_s)
            await provider.aclose()

        task = asyncio.get_running_loop().create_task(close_later())
        self._closing[task] = provider
        task.add_done_callback(lambda done: self._closing.pop(done, None))
