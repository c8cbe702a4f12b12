"""Each sender adapter against the simulator's dialect of its provider: the request and
response shapes, credentials, duplicates and the knobs as each provider expresses them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.sender.providers.base import (
    EmailProvider,
    Outcome,
    OutgoingEmail,
    ProviderRetryable,
    ProviderStopped,
    SendRequest,
)
from services.sender.providers.errors import ProviderRequestError
from shared.settings import CommonSettings
from tests.dialects import ADAPTER_NAMES, RunningSimulator, running_dialects
from tests.sender.providers.emails import fresh_request

WRONG_CREDENTIAL = {
    "sendgrid": {"api_key": SecretStr("SG.wrong")},
    "mailgun": {"api_key": SecretStr("key-wrong")},
    "postmark": {"server_token": SecretStr("wrong")},
    "ses": {"secret_access_key": SecretStr("wrong")},
    "smtp": {"password": SecretStr("wrong")},
}
# what a recipient the simulator rejects gets, as each provider can say it
REJECTED_AS = {
    "sendgrid": Outcome.ACCEPTED,  # no per-recipient answer: it bounces later
    "mailgun": Outcome.ACCEPTED,
    "postmark": Outcome.REJECTED,
    "ses": Outcome.REJECTED,
    "smtp": Outcome.REJECTED,
}


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_dialects(CommonSettings(), webhook_url="", seed=3) as running:
        yield running


async def _send(adapter: EmailProvider, request: SendRequest) -> list[Any]:
    try:
        return await adapter.send_batch(request)
    finally:
        await adapter.aclose()


async def _counters(sim: RunningSimulator) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        return dict((await client.get("/v1/counters")).json())


async def _configure(sim: RunningSimulator, **knobs: Any) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as client:
        (await client.post("/v1/config", json=knobs)).raise_for_status()


@pytest.mark.parametrize("name", ADAPTER_NAMES)
async def test_send_batch_through_dialect_accepted_once(sim: RunningSimulator, name: str) -> None:
    request = fresh_request(5)
    first = await _send(sim.adapter(name), request)
    again = await _send(sim.adapter(name), request)
    assert [r.outcome for r in first + again] == [Outcome.ACCEPTED] * 10
    counters = await _counters(sim)
    assert (counters["unique"], counters["duplicates"]) == (5, 5)


@pytest.mark.parametrize("name", ADAPTER_NAMES)
async def test_send_batch_wrong_credentials_stop(sim: RunningSimulator, name: str) -> None:
    with pytest.raises((ProviderRequestError, ProviderStopped)) as caught:
        await _send(sim.adapter(name, **WRONG_CREDENTIAL[name]), fresh_request(2))
    if isinstance(caught.value, ProviderRequestError):
        assert caught.value.status_code in (401, 403)  # the delivery step pauses the campaign
    assert (await _counters(sim))["unique"] == 0


@pytest.mark.parametrize("name", [n for n in ADAPTER_NAMES if n != "smtp"])
async def test_send_batch_throttled_with_retry_after(sim: RunningSimulator, name: str) -> None:
    await _configure(sim, throttle_429_rate=1.0, throttle_retry_after_s=2)
    with pytest.raises(ProviderRetryable) as caught:
        await _send(sim.adapter(name), fresh_request(3))
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1


async def test_send_batch_smtp_throttled_answers_retry(sim: RunningSimulator) -> None:
    await _configure(sim, throttle_429_rate=1.0)
    results = await _send(sim.adapter("smtp"), fresh_request(3))
    assert [r.outcome for r in results] == [Outcome.RETRY] * 3


@pytest.mark.parametrize("name", ADAPTER_NAMES)
async def test_send_batch_rejected_recipient_as_provider_says(
    sim: RunningSimulator, name: str
) -> None:
    await _configure(sim, reject_rate=1.0)
    results = await _send(sim.adapter(name), fresh_request(2))
    assert [r.outcome for r in results] == [REJECTED_AS[name]] * 2


@pytest.mark.parametrize("name", ["sendgrid", "mailgun"])
async def test_send_batch_transient_recipient_refuses_whole_call(
    sim: RunningSimulator, name: str
) -> None:
    await _configure(sim, transient_rate=1.0)
    with pytest.raises(ProviderRetryable):
        await _send(sim.adapter(name), fresh_request(2))
    assert (await _counters(sim))["unique"] == 0


@pytest.mark.parametrize("name", ["ses", "smtp"])
async def test_send_batch_transient_recipient_retried_alone(
    sim: RunningSimulator, name: str
) -> None:
    await _configure(sim, transient_rate=1.0)
    results = await _send(sim.adapter(name), fresh_request(2))
    assert [r.outcome for r in results] == [Outcome.RETRY] * 2


@pytest.mark.parametrize("name", ["sendgrid", "mailgun"])
async def test_send_batch_invalid_address_rejected_alone(sim: RunningSimulator, name: str) -> None:
    request = fresh_request(3)
    bad = request.emails[1]
    request.emails[1] = OutgoingEmail(
        bad.lead_id, "no-at-sign", bad.subject, bad.html, bad.text, bad.message_id, bad.headers
    )
    results = await _send(sim.adapter(name), request)
    assert results[1].outcome is Outcome.REJECTED
    others = {results[0].outcome, results[2].outcome}
    # SendGrid refuses the call: the others are sent again alone; Mailgun's split sends them
    assert others == ({Outcome.RETRY} if name == "sendgrid" else {Outcome.ACCEPTED})


async def test_ses_dialect_quota_read(sim: RunningSimulator) -> None:
    await _configure(sim, rate_limit_per_s=120)
    adapter = sim.adapter("ses")
    try:
        assert await adapter.max_send_rate() == 120.0
    finally:
        await adapter.aclose()
