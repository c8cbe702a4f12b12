"""The simulator's bulk API: statuses, duplicates, throttling, errors and counters."""

from __future__ import annotations

import time
from typing import Any

import httpx

from services.esp_simulator.config import Settings
from services.esp_simulator.testing import running_simulator
from shared.settings import CommonSettings
from tests.clock import BootClock
from tests.esp_simulator.helpers import AUTH, bulk, message


async def _send(sim: httpx.AsyncClient, messages: list[dict[str, object]]) -> httpx.Response:
    return await sim.post("/v1/messages/bulk", json=bulk(messages), headers=AUTH)


async def test_send_bulk_accepts_each_message_in_order(sim: httpx.AsyncClient) -> None:
    messages = [message(i) for i in range(50)]
    response = await _send(sim, messages)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["message_id"] for r in results] == [m["message_id"] for m in messages]
    assert {r["status"] for r in results} == {"accepted"}
    assert len({r["provider_message_id"] for r in results}) == 50
    counters = (await sim.get("/v1/counters")).json()
    assert counters["calls"] == 1
    assert counters["received"] == 50
    assert counters["unique"] == 50
    assert counters["duplicates"] == 0
    assert counters["outcomes"]["delivered"] == 50


async def test_send_bulk_duplicate_ids_answer_same_provider_id(sim: httpx.AsyncClient) -> None:
    messages = [message(i, tag="dup") for i in range(10)]
    first = (await _send(sim, messages)).json()["results"]
    again = (await _send(sim, messages[:4] + [message(99)])).json()["results"]
    assert [r["provider_message_id"] for r in again[:4]] == [
        r["provider_message_id"] for r in first[:4]
    ]
    assert {r["status"] for r in again} == {"accepted"}
    counters = (await sim.get("/v1/counters")).json()
    assert counters["received"] == 15
    assert counters["unique"] == 11
    assert counters["duplicates"] == 4
    assert counters["outcomes"]["delivered"] == 11


async def test_send_bulk_without_key_unauthorized(sim: httpx.AsyncClient) -> None:
    body = bulk([message(1)])
    missing = await sim.post("/v1/messages/bulk", json=body)
    wrong = await sim.post("/v1/messages/bulk", json=body, headers={"Authorization": "Bearer x"})
    assert missing.status_code == wrong.status_code == 401
    # the ESP's own dialect, not a problem document: the sender's adapter parses it
    assert missing.headers["content-type"] == "application/json"
    assert wrong.json() == {"detail": "missing or wrong API key (Authorization: Bearer <key>)"}
    assert (await sim.get("/v1/counters")).json()["received"] == 0


async def test_send_bulk_over_50_messages_bad_request(sim: httpx.AsyncClient) -> None:
    response = await _send(sim, [message(i) for i in range(51)])
    assert response.status_code == 400
    assert "messages" in response.json()["reason"]
    assert (await sim.get("/v1/counters")).json()["received"] == 0


async def test_send_bulk_malformed_message_id_bad_request(sim: httpx.AsyncClient) -> None:
    response = await _send(sim, [message(1), message(2, message_id="no-angle-brackets")])
    assert response.status_code == 400
    assert response.json()["reason"].startswith("body.messages.1.message_id")
    assert response.json()["detail"][0]["loc"] == ["body", "messages", 1, "message_id"]
    assert response.headers["content-type"] == "application/json"


async def test_send_bulk_over_rate_limit_throttled_with_retry_after() -> None:
    clock = BootClock()  # the rate bucket's clock: no time passes unless the test moves it
    settings = Settings(webhook_url="", rate_limit_per_s=100)
    async with (
        running_simulator(settings, clock=clock) as base_url,
        httpx.AsyncClient(base_url=base_url) as sim,
    ):
        # the bucket holds one second of rate: two calls of 50, then it is empty
        assert (await _send(sim, [message(i) for i in range(50)])).status_code == 200
        assert (await _send(sim, [message(i) for i in range(50)])).status_code == 200
        throttled = await _send(sim, [message(i) for i in range(50)])
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"  # whole seconds, rounded up
        assert throttled.json()["retry_after_ms"] == 500  # 50 tokens at 100/s
        counters = (await sim.get("/v1/counters")).json()
        assert counters["unique"] == 100
        assert counters["throttled_calls"] == 1
        clock.advance(0.25)  # refilled 25 of the 50: still refused, for what is left
        again = await _send(sim, [message(i) for i in range(50)])
        assert (again.status_code, again.json()["retry_after_ms"]) == (429, 250)
        clock.advance(0.25)
        assert (await _send(sim, [message(i) for i in range(50)])).status_code == 200
        assert (await sim.get("/v1/counters")).json()["unique"] == 150


async def test_send_bulk_error_5xx_rate_answers_503(sim: httpx.AsyncClient) -> None:
    assert (await sim.post("/v1/config", json={"error_5xx_rate": 1.0})).status_code == 200
    response = await _send(sim, [message(1)])
    assert response.status_code == 503
    await sim.post("/v1/config", json={"error_5xx_rate": 0.0})
    assert (await _send(sim, [message(1)])).status_code == 200
    counters = (await sim.get("/v1/counters")).json()
    assert counters["server_errors"] == 1
    assert counters["unique"] == 1


async def test_send_bulk_throttle_429_rate_answers_429(sim: httpx.AsyncClient) -> None:
    await sim.post("/v1/config", json={"throttle_429_rate": 1.0, "throttle_retry_after_s": 2})
    response = await _send(sim, [message(1)])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert (await sim.get("/v1/counters")).json()["unique"] == 0


async def test_send_bulk_per_recipient_rates_counted(sim: httpx.AsyncClient) -> None:
    await sim.post(
        "/v1/config",
        json={"reject_rate": 0.2, "transient_rate": 0.2, "recipient_throttle_rate": 0.1},
    )
    statuses: list[str] = []
    for call in range(10):
        response = await _send(sim, [message(call * 50 + i) for i in range(50)])
        statuses += [r["status"] for r in response.json()["results"]]
    counters = (await sim.get("/v1/counters")).json()
    assert counters["rejected"] == statuses.count("rejected")
    assert counters["transient"] == statuses.count("transient_error")
    assert counters["throttled"] == statuses.count("throttled")
    assert counters["unique"] == statuses.count("accepted")
    assert 60 <= counters["rejected"] <= 140
    assert 60 <= counters["transient"] <= 140
    assert 20 <= counters["throttled"] <= 80


async def test_send_bulk_transient_recipient_accepted_on_retry(sim: httpx.AsyncClient) -> None:
    await sim.post("/v1/config", json={"transient_rate": 1.0})
    messages = [message(1)]
    assert (await _send(sim, messages)).json()["results"][0]["status"] == "transient_error"
    await sim.post("/v1/config", json={"transient_rate": 0.0})
    assert (await _send(sim, messages)).json()["results"][0]["status"] == "accepted"
    counters = (await sim.get("/v1/counters")).json()
    assert (counters["unique"], counters["duplicates"], counters["transient"]) == (1, 0, 1)


async def test_send_bulk_outcome_rates_split_accepted_mail(sim: httpx.AsyncClient) -> None:
    knobs = {"hard_bounce_rate": 0.1, "soft_bounce_rate": 0.1, "complaint_rate": 0.1}
    await sim.post("/v1/config", json={**knobs, "open_rate": 0.5, "click_rate": 0.5})
    for call in range(10):
        await _send(sim, [message(call * 50 + i) for i in range(50)])
    outcomes = (await sim.get("/v1/counters")).json()["outcomes"]
    assert outcomes["delivered"] + outcomes["bounced_hard"] + outcomes["bounced_soft"] == 500
    assert 25 <= outcomes["bounced_hard"] <= 75
    assert 25 <= outcomes["bounced_soft"] <= 75
    assert 0 < outcomes["complained"] < outcomes["delivered"]
    assert 0 < outcomes["clicked"] < outcomes["opened"] < outcomes["delivered"]


async def test_send_bulk_latency_delays_answer(sim: httpx.AsyncClient) -> None:
    await sim.post("/v1/config", json={"latency_p50_ms": 150, "latency_p99_ms": 150})
    started = time.monotonic()
    assert (await _send(sim, [message(1)])).status_code == 200
    assert time.monotonic() - started >= 0.14


async def test_send_bulk_same_seed_same_statuses() -> None:
    knobs: dict[str, Any] = {"reject_rate": 0.3, "transient_rate": 0.3, "seed": 42}
    answers = []
    for _ in range(2):
        async with (
            running_simulator(Settings(webhook_url="", **knobs)) as base_url,
            httpx.AsyncClient(base_url=base_url) as sim,
        ):
            response = await _send(sim, [message(i, tag="seeded") for i in range(50)])
            answers.append([r["status"] for r in response.json()["results"]])
    assert answers[0] == answers[1]
    assert len(set(answers[0])) == 3


async def test_update_config_invalid_knob_is_422_problem(sim: httpx.AsyncClient) -> None:
    too_high = await sim.post("/v1/config", json={"reject_rate": 1.5})
    unknown = await sim.post("/v1/config", json={"no_such_knob": 1})
    over_one = await sim.post("/v1/config", json={"reject_rate": 0.6, "transient_rate": 0.6})
    assert too_high.status_code == unknown.status_code == over_one.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["errors"][0]["loc"] == ["body", "no_such_knob"]
    assert too_high.json()["detail"].startswith("body.reject_rate: ")
    not_an_object = await sim.post("/v1/config", json=[1])
    assert not_an_object.status_code == 422 and not_an_object.json()["errors"][0]["loc"] == ["body"]
    config = (await sim.get("/v1/config")).json()
    assert config["reject_rate"] == 0.0
    assert config["transient_rate"] == 0.0


async def test_update_config_partial_keeps_other_knobs(sim: httpx.AsyncClient) -> None:
    await sim.post("/v1/config", json={"rate_limit_per_s": 250})
    config = (await sim.post("/v1/config", json={"open_rate": 0.5})).json()
    assert (config["rate_limit_per_s"], config["open_rate"], config["seed"]) == (250, 0.5, 7)


async def test_reset_forgets_ids_and_zeroes_counters(sim: httpx.AsyncClient) -> None:
    messages = [message(i, tag="reset") for i in range(5)]
    await _send(sim, messages)
    reset = (await sim.post("/v1/reset")).json()
    assert (reset["calls"], reset["unique"], reset["outcomes"]["delivered"]) == (0, 0, 0)
    await _send(sim, messages)
    counters = (await sim.get("/v1/counters")).json()
    assert (counters["unique"], counters["duplicates"]) == (5, 0)


async def test_read_health_endpoints(sim: httpx.AsyncClient) -> None:
    assert (await sim.get("/healthz")).json() == {"status": "ok"}
    assert (await sim.get("/readyz")).status_code == 401
    ops = {"Authorization": f"Bearer {CommonSettings(environment='test').secret('ops_token')}"}
    assert (await sim.get("/readyz", headers=ops)).status_code == 200
    metrics = await sim.get("/metrics", headers=ops)
    assert "fanout_esp_simulator_calls_total" in metrics.text
