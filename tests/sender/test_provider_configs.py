"""Accounts' provider configurations in the sender (issue 13): one adapter and one rate budget
per configuration, and a configuration the provider refuses as a whole (the simulator
answering 401 to a wrong key) pauses its campaign with the reason, fails no lead,
disables the configuration, and the parked batch is sent after new credentials and a resume.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import asyncpg
import pytest
from cachetools import TTLCache

from services.campaign_api.providers.edits import update_config
from services.campaign_api.providers.store import create_config
from services.lead_resolver.resolver import Resolver
from services.sender.config import Settings as SenderSettings
from services.sender.providers.adapters import ProviderUnavailable
from services.sender.providers.base import RecipientResult, SendRequest
from services.sender.providers.configured import ConfiguredProviders
from shared.provider_configs.kinds import MODELS, SENDER_FIELDS, WEBHOOK_FIELDS, checked_settings
from shared.provider_configs.records import sealer
from shared.settings import CommonSettings
from tests import factories
from tests.send_path import campaign, read_sends, seed_campaign
from tests.sender.harness import harness, resolved_batches

WRONG_KEY = "a-wrong-simulator-key-" + uuid.uuid4().hex


class NotThisOne:
    """The stack-wide simulator adapter: campaigns naming a configuration never use it."""

    name = "simulator"

    async def send_batch(self, request: SendRequest) -> list[RecipientResult]:
        raise AssertionError(f"{request.campaign_id} should use its own configuration")

    async def max_send_rate(self) -> float | None:
        return None

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("kind", [k for k in MODELS if k != "simulator"])
def test_configuration_fields_are_the_adapters_own(kind: str) -> None:
    settings, credentials = MODELS[kind]
    adapter_fields = set(type(getattr(SenderSettings(), kind)).model_fields)
    stored = set(settings.model_fields) | set(credentials.model_fields)
    assert stored - SENDER_FIELDS - WEBHOOK_FIELDS <= adapter_fields


@pytest.mark.postgres
async def test_two_configurations_do_not_share_a_budget(pool: asyncpg.Pool) -> None:
    account = (await factories.account(pool)).id
    slow = await factories.provider_config(pool, account, settings={"rate_per_s": 100})
    fast = await factories.provider_config(pool, account, settings={"rate_per_s": 300})
    configured = ConfiguredProviders(SenderSettings())
    try:
        configured.set_share(1, 2)
        first, second = await configured.get(pool, slow), await configured.get(pool, fast)
        assert first.rate is not second.rate
        assert (first.rate.budget_per_s, first.rate.share_per_s) == (100, 50)
        assert (second.rate.budget_per_s, second.rate.share_per_s) == (300, 150)
        assert (await configured.get(pool, slow)).rate is first.rate  # one per configuration
    finally:
        await configured.aclose()


class CountingPool:
    """The test's pool, counting the rows it was asked for (a configuration's reads)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.reads = 0

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        self.reads += 1
        return await self._pool.fetchrow(query, *args)


@pytest.mark.postgres
async def test_batches_in_flight_read_an_expired_configuration_once(pool: asyncpg.Pool) -> None:
    account = (await factories.account(pool)).id
    config = await factories.provider_config(pool, account)
    configured = ConfiguredProviders(SenderSettings())
    counting = CountingPool(pool)
    try:
        got = await asyncio.gather(*(configured.get(counting, config) for _ in range(50)))
        assert counting.reads == 1
        assert len({id(made) for made in got}) == 1
    finally:
        await configured.aclose()


@pytest.mark.postgres
async def test_stack_simulator_key_never_goes_to_an_account_base_url(pool: asyncpg.Pool) -> None:
    account = (await factories.account(pool)).id
    settings = checked_settings("simulator", {"base_url": "https://elsewhere.example"})
    row = await create_config(
        pool,
        account,
        name="elsewhere",
        kind="simulator",
        settings=settings,
        credentials={},
        sealer=sealer(CommonSettings(environment="test")),
    )  # what an API check refuses, as a row written around it
    configured = ConfiguredProviders(SenderSettings())
    with pytest.raises(ProviderUnavailable, match="no api_key"):
        await configured.get(pool, row["id"])
    await configured.aclose()


@pytest.mark.kafka
@pytest.mark.postgres
async def test_simulator_401_pauses_campaign_fails_no_lead_and_resume_sends(
    pool: asyncpg.Pool, settings: CommonSettings, resolver: Resolver, simulator: str
) -> None:
    account = (await factories.account(pool)).id
    config_id = await factories.provider_config(
        pool,
        account,
        settings={"base_url": simulator},
        credentials={"api_key": WRONG_KEY},
        name="sim-wrong-key",
    )
    seeded = await seed_campaign(
        pool, matching=20, account_id=account, provider_config_id=config_id
    )
    [batch] = await resolved_batches(pool, seeded)
    async with harness(pool, settings, NotThisOne(), spec_ttl_s=0.0) as h:
        assert await h.pipeline.process(batch) == ""
        await h.accounting.flush()
        paused = await campaign(pool, seeded.campaign_id)
        config = await pool.fetchrow("SELECT * FROM provider_configs WHERE id = $1", config_id)
        assert (paused["state"], paused["sent"], paused["failed"]) == ("paused", 0, 0)
        assert "'sim-wrong-key'" in paused["state_reason"] and "401" in paused["state_reason"]
        assert config["state"] == "disabled" and "401" in config["state_reason"]
        assert WRONG_KEY not in paused["state_reason"] + config["state_reason"]

        key = {"api_key": CommonSettings(environment="test").secret("simulator_api_key")}
        await update_config(pool, account, config_id, {"credentials": key}, sealer(settings))
        await pool.execute(  # what POST /campaigns/{id}/resume does to the row
            "UPDATE campaigns SET state = 'queued', run_id = $2 WHERE id = $1",
            seeded.campaign_id,
            uuid.uuid4(),
        )
        for _ in range(3):
            await resolver.step(seeded.campaign_id)
        [again] = await read_sends(settings)
        assert await h.pipeline.process(again) == ""
        await h.accounting.flush()
    done = await campaign(pool, seeded.campaign_id)
    assert (done["state"], done["sent"], done["failed"]) == ("completed", 20, 0)


@pytest.mark.postgres
async def test_a_configuration_expiring_as_it_is_read_is_not_taken_for_deleted(
    pool: asyncpg.Pool,
) -> None:
    """A cached configuration read in the instant its entry expires (every `spec_ttl_s`)
    is either the cached one or read again, never None ("deleted", which pauses the
    campaign): the cache's clock moves on at every look, so a second look at the entry
    finds it expired."""
    account = (await factories.account(pool)).id
    config = await factories.provider_config(pool, account)
    configured = ConfiguredProviders(SenderSettings())
    ticks = itertools.count()
    configured._configs = TTLCache(16, 1.0, timer=lambda: next(ticks) * 0.6)  # noqa: SLF001
    try:
        for _ in range(5):
            assert (await configured.get(pool, config)).config.id == config
    finally:
        await configured.aclose()
