"""Rate limits per API key: RateLimit fields on every counted answer, 429 with Retry-After,
counting per key, on a pinned clock moved by hand (`limits` reads the same clock)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import asyncpg
import limits.aio.storage.memory
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError

from services.campaign_api.config import Settings
from shared.auth import add_key
from shared.http.rate_limits import KeyRateLimits
from tests.campaign_api.conftest import Tenant, client_for
from tests.clock import BootClock

pytestmark = pytest.mark.postgres


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> BootClock:
    pinned = BootClock(start=1_000.0)
    monkeypatch.setattr(limits.aio.storage.memory, "time", SimpleNamespace(time=pinned))
    return pinned


@pytest.fixture
def three_a_minute(api_app: FastAPI, clock: BootClock) -> Iterator[None]:
    """The session app limited to 3 requests a minute per key, for this test only."""
    # by hand: monkeypatch cannot restore an attribute of Starlette's State (it deletes it)
    usual = api_app.state.rate_limits
    api_app.state.rate_limits = KeyRateLimits("3/minute", clock)
    yield
    api_app.state.rate_limits = usual


@pytest.mark.usefixtures("three_a_minute")
async def test_rate_limit_fields_then_429_until_the_window_moves(
    tenant: Tenant, clock: BootClock, pool: asyncpg.Pool
) -> None:
    seen = []
    for _ in range(3):
        response = await tenant.client.get("/leads")
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"] == '"minute";q=3;w=60'
        seen.append(response.headers["RateLimit"])
        clock.advance(10)
    assert seen == ['"minute";r=2;t=60', '"minute";r=1;t=50', '"minute";r=0;t=40']
    before = REGISTRY.get_sample_value("fanout_rate_limited_total", {"policy": "minute"}) or 0
    refused = await tenant.client.post("/leads", json={"email": "a@example.com"})
    assert refused.status_code == 429
    after = REGISTRY.get_sample_value("fanout_rate_limited_total", {"policy": "minute"})
    assert after == before + 1
    # the first request leaves the window in 30 s: a request 31 s later is sure to pass
    assert refused.headers["RateLimit"] == '"minute";r=0;t=30'
    assert refused.headers["Retry-After"] == "31"
    assert "retry in 31 s" in refused.json()["detail"]
    leads = "SELECT count(*) FROM leads WHERE account_id = $1"
    assert await pool.fetchval(leads, tenant.account_id) == 0  # refused: nothing done
    clock.advance(30)
    assert (await tenant.client.get("/leads")).status_code == 429  # the window's edge
    clock.advance(1)
    again = await tenant.client.get("/leads")
    assert again.status_code == 200
    assert again.headers["RateLimit"] == '"minute";r=0;t=9'


@pytest.mark.usefixtures("three_a_minute")
async def test_rate_limits_count_each_key_apart(
    tenant: Tenant, api_app: FastAPI, pool: asyncpg.Pool
) -> None:
    for _ in range(3):
        await tenant.client.get("/leads")
    assert (await tenant.client.get("/leads")).status_code == 429
    _, other_key = await add_key(pool, tenant.account_id, "second")
    async with client_for(api_app, other_key) as other:
        response = await other.get("/leads/00000000-0000-0000-0000-000000000000")
        assert response.status_code == 404  # errors are counted and carry the fields too
        assert response.headers["RateLimit"] == '"minute";r=2;t=60'


@pytest.mark.usefixtures("three_a_minute")
async def test_rate_limits_skip_refused_credentials(api_app: FastAPI, tenant: Tenant) -> None:
    async with client_for(api_app, "fo_nope_nope") as stranger:
        for _ in range(5):
            response = await stranger.get("/leads")
            assert response.status_code == 401
            assert "RateLimit" not in response.headers
    assert (await tenant.client.get("/leads")).headers["RateLimit"] == '"minute";r=2;t=60'


def test_rate_limit_setting_is_checked() -> None:
    assert Settings(rate_limit="10/second; 100 per 5 minutes").rate_limit
    assert Settings(rate_limit="").rate_limit == ""
    with pytest.raises(ValidationError, match="rate_limit"):
        Settings(rate_limit="lots/minute")


def test_several_policies_name_their_windows() -> None:
    policy = KeyRateLimits("10/second;100 per 5 minutes").policy
    assert policy == '"second";q=10;w=1, "5-minutes";q=100;w=300'
