"""The simulator adapter against the real simulator app, served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.esp_simulator.config import Settings
from services.esp_simulator.testing import running_simulator
from services.sender.providers.base import (
    EmailProvider,
    Outcome,
    ProviderRetryable,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from services.sender.providers.simulator import SimulatorProvider, bulk_body
from shared.settings import CommonSettings
from tests.clock import BootClock
from tests.ports import free_port
from tests.sender.providers.emails import fresh_request

KEY = CommonSettings(environment="test").secret("simulator_api_key")


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    async with running_simulator(Settings(webhook_url="", seed=11)) as url:
        yield url


@pytest.fixture
async def provider(base_url: str) -> AsyncIterator[SimulatorProvider]:
    adapter = SimulatorProvider(base_url, KEY)
    yield adapter
    await adapter.aclose()


async def _configure(base_url: str, **knobs: Any) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        (await http.post("/v1/config", json=knobs)).raise_for_status()


async def _counters(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        counters: dict[str, Any] = (await http.get("/v1/counters")).json()
        return counters


async def test_send_batch_accepted_in_order(provider: SimulatorProvider) -> None:
    checked: EmailProvider = provider
    request = fresh_request(50)
    results = await checked.send_batch(request)
    assert [r.lead_id for r in results] == [e.lead_id for e in request.emails]
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    assert all(r.provider_message_id.startswith("sim-") for r in results)


async def test_send_batch_resend_is_duplicate_with_same_ids(
    provider: SimulatorProvider, base_url: str
) -> None:
    request = fresh_request(5, tag="again")
    first = await provider.send_batch(request)
    second = await provider.send_batch(request)
    assert [r.provider_message_id for r in first] == [r.provider_message_id for r in second]
    assert {r.outcome for r in second} == {Outcome.ACCEPTED}
    counters = await _counters(base_url)
    assert (counters["unique"], counters["duplicates"]) == (5, 5)


@pytest.mark.parametrize(
    ("knob", "outcome"),
    [
        ("reject_rate", Outcome.REJECTED),
        ("transient_rate", Outcome.RETRY),
        ("recipient_throttle_rate", Outcome.RETRY),
    ],
)
async def test_send_batch_recipient_statuses_mapped(
    provider: SimulatorProvider, base_url: str, knob: str, outcome: Outcome
) -> None:
    await _configure(base_url, **{knob: 1.0})
    results = await provider.send_batch(fresh_request(3))
    assert {r.outcome for r in results} == {outcome}
    assert all(r.reason and not r.provider_message_id for r in results)


async def test_send_batch_throttled_call_retryable_with_delay(
    provider: SimulatorProvider, base_url: str
) -> None:
    await _configure(base_url, throttle_429_rate=1.0, throttle_retry_after_s=3)
    with pytest.raises(ProviderRetryable) as caught:
        await provider.send_batch(fresh_request(2))
    assert caught.value.retry_after == 3.0
    assert "429" in caught.value.reason


async def test_send_batch_over_rate_limit_retry_after_precise() -> None:
    clock = BootClock()  # the simulator's rate bucket: time moves only when the test says
    async with running_simulator(Settings(webhook_url="", seed=11), clock=clock) as base_url:
        await _configure(base_url, rate_limit_per_s=50)
        provider = SimulatorProvider(base_url, KEY)
        try:
            await provider.send_batch(fresh_request(50))
            clock.advance(0.25)
            with pytest.raises(ProviderRetryable) as caught:
                await provider.send_batch(fresh_request(50))
            # the bucket refills 50 tokens in 1 s from the first batch: 0.75 s are left, to
            # the millisecond (not the whole-second Retry-After header)
            assert caught.value.retry_after == 0.75
            assert await provider.max_send_rate() == 50
        finally:
            await provider.aclose()


async def test_send_batch_server_error_retryable(
    provider: SimulatorProvider, base_url: str
) -> None:
    await _configure(base_url, error_5xx_rate=1.0)
    with pytest.raises(ProviderRetryable, match="503"):
        await provider.send_batch(fresh_request(2))


async def test_send_batch_wrong_key_not_retryable(base_url: str) -> None:
    adapter = SimulatorProvider(base_url, "wrong-key")
    try:
        with pytest.raises(ProviderRequestError) as caught:
            await adapter.send_batch(fresh_request(1))
    finally:
        await adapter.aclose()
    assert isinstance(caught.value, ValueError)
    assert caught.value.status_code == 401
    assert "wrong-key" not in str(caught.value)


async def test_send_batch_malformed_message_not_retryable(provider: SimulatorProvider) -> None:
    request = fresh_request(2)
    bad = SendRequest(**{**request.__dict__, "emails": [*request.emails] * 26})
    with pytest.raises(ProviderRequestError, match="at most 50"):
        await provider.send_batch(bad)


async def test_send_batch_timeout_retryable(base_url: str) -> None:
    await _configure(base_url, latency_p50_ms=500)
    async with httpx.AsyncClient(timeout=0.1) as http:
        adapter = SimulatorProvider(base_url, KEY, http=http)
        with pytest.raises(ProviderRetryable, match="timeout"):
            await adapter.send_batch(fresh_request(1))
        await adapter.aclose()
        assert not http.is_closed


async def test_send_batch_timeout_retryable_on_own_client(base_url: str) -> None:
    await _configure(base_url, latency_p50_ms=500)
    adapter = SimulatorProvider(base_url, KEY, timeout_s=0.1)
    try:
        with pytest.raises(ProviderRetryable, match="timeout: ReadTimeout"):
            await adapter.send_batch(fresh_request(1))
        await _configure(base_url, latency_p50_ms=0)
        results = await adapter.send_batch(fresh_request(2))  # a new connection, not the late one
        assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.ACCEPTED]
    finally:
        await adapter.aclose()


async def test_send_batch_unreachable_retryable() -> None:
    adapter = SimulatorProvider(f"http://127.0.0.1:{free_port()}", KEY)
    try:
        with pytest.raises(ProviderRetryable, match="unreachable"):
            await adapter.send_batch(fresh_request(1))
        assert await adapter.max_send_rate() is None
    finally:
        await adapter.aclose()


async def test_read_max_send_rate_unlimited_is_none(provider: SimulatorProvider) -> None:
    assert await provider.max_send_rate() is None


def test_build_bulk_body_carries_ids_and_headers() -> None:
    request = fresh_request(2)
    body = bulk_body(request)
    assert body["from"] == "Acme News <news@acme.example>"
    first = body["messages"][0]
    assert first["message_id"] == request.emails[0].message_id
    assert first["headers"] == {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert first["metadata"] == {
        "account_id": str(request.account_id),
        "campaign_id": str(request.campaign_id),
        "lead_id": str(request.emails[0].lead_id),
    }
