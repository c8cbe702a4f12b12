"""The down window: every bulk call answered 503 for N seconds from now (pinned clock)."""

from __future__ import annotations

import uuid

import httpx

from services.esp_simulator.config import Settings
from services.esp_simulator.engine import CallRefused, Simulator
from services.esp_simulator.protocol import BulkRequest
from tests.esp_simulator.helpers import AUTH, bulk, message


class PinnedClock:
    """A clock that moves only when told."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _request(count: int = 2) -> BulkRequest:
    """`count` messages of one campaign."""
    campaign = str(uuid.uuid4())
    messages = [message(i) for i in range(count)]
    for m in messages:
        m["metadata"]["campaign_id"] = campaign
    return BulkRequest.model_validate(bulk(messages))


async def test_send_during_down_window_refused_then_accepted_after() -> None:
    clock, wall = PinnedClock(0.0), PinnedClock(1_700_000_000.0)
    simulator = Simulator(Settings(webhook_url="", seed=1), clock=clock, wall=wall)
    simulator.outage.start(30)
    clock.now = 29.9
    refused = await simulator.send(_request())
    assert isinstance(refused, CallRefused)
    assert (refused.status_code, refused.retry_after_s) == (503, None)
    assert simulator.outage.remaining_s == 30 - 29.9
    clock.now = 30.0
    answered = await simulator.send(_request())
    assert not isinstance(answered, CallRefused)
    assert simulator.counters.unique == 2
    assert simulator.counters.server_errors == 1
    outcomes = [r.outcome for r in simulator.requests.select()]
    assert outcomes == ["down", "ok"]
    assert {r.started_at for r in simulator.requests.select()} == {1_700_000_000.0}


async def test_down_window_zero_ends_it_at_once() -> None:
    clock = PinnedClock(100.0)
    simulator = Simulator(Settings(webhook_url=""), clock=clock)
    simulator.outage.start(60)
    assert simulator.outage.down
    simulator.outage.start(0)
    assert not simulator.outage.down
    assert not isinstance(await simulator.send(_request()), CallRefused)


async def test_reset_ends_down_window() -> None:
    simulator = Simulator(Settings(webhook_url=""), clock=PinnedClock(5.0))
    simulator.outage.start(60)
    simulator.reset()
    assert (simulator.outage.down, simulator.outage.remaining_s) == (False, 0.0)


async def test_go_down_route_answers_503_until_ended(sim: httpx.AsyncClient) -> None:
    state = (await sim.post("/v1/down", json={"seconds": 600})).json()
    assert state["down"] and 590 < state["remaining_s"] <= 600
    campaign = str(uuid.uuid4())
    body = bulk([message(1, metadata={**message(1)["metadata"], "campaign_id": campaign})])
    refused = await sim.post("/v1/messages/bulk", json=body, headers=AUTH)
    assert refused.status_code == 503
    assert refused.json()["detail"] == "simulated outage"
    assert (await sim.get("/v1/down")).json()["down"]
    assert (await sim.post("/v1/down", json={"seconds": 0})).json() == {
        "down": False,
        "remaining_s": 0.0,
    }
    assert (await sim.post("/v1/messages/bulk", json=body, headers=AUTH)).status_code == 200
    log = (await sim.get("/v1/requests", params={"campaign_id": campaign})).json()["entries"]
    assert [e["outcome"] for e in log] == ["down", "ok"]


async def test_go_down_negative_seconds_is_422_problem(sim: httpx.AsyncClient) -> None:
    response = await sim.post("/v1/down", json={"seconds": -1})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.seconds")
    assert not (await sim.get("/v1/down")).json()["down"]
