"""The request log: one record per call and campaign, with counts; filters; its bound."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.esp_simulator.config import Settings
from services.esp_simulator.testing import running_simulator
from tests.esp_simulator.helpers import AUTH, bulk, message


def _of_campaign(campaign: uuid.UUID, count: int, start: int = 0) -> list[dict[str, Any]]:
    messages = [message(start + i) for i in range(count)]
    for m in messages:
        m["metadata"]["campaign_id"] = str(campaign)
    return messages


async def _send(sim: httpx.AsyncClient, messages: list[dict[str, Any]]) -> httpx.Response:
    return await sim.post("/v1/messages/bulk", json=bulk(messages), headers=AUTH)


async def test_read_requests_counts_each_call_of_a_campaign(sim: httpx.AsyncClient) -> None:
    campaign, other = uuid.uuid4(), uuid.uuid4()
    first = _of_campaign(campaign, 10)
    await sim.post("/v1/config", json={"hard_bounce_rate": 0.5, "complaint_rate": 1.0})
    await _send(sim, first)
    await _send(sim, first[:4] + _of_campaign(campaign, 2, start=100))
    await _send(sim, _of_campaign(other, 3))
    page = (await sim.get("/v1/requests", params={"campaign_id": str(campaign)})).json()
    assert [e["recipients"] for e in page["entries"]] == [10, 6]
    assert [e["accepted"] for e in page["entries"]] == [10, 2]
    assert [e["duplicates"] for e in page["entries"]] == [0, 4]
    assert {e["outcome"] for e in page["entries"]} == {"ok"}
    assert {e["campaign_id"] for e in page["entries"]} == {str(campaign)}
    decided = sum(e["delivered"] + e["bounced_hard"] for e in page["entries"])
    assert decided == 12
    assert sum(e["complained"] for e in page["entries"]) == sum(
        e["delivered"] for e in page["entries"]
    )
    everyone = (await sim.get("/v1/requests")).json()["entries"]
    counters = (await sim.get("/v1/counters")).json()["outcomes"]
    for name in ("delivered", "bounced_hard", "complained"):
        assert sum(e[name] for e in everyone) == counters[name]
    assert (page["recorded"], page["evicted"]) == (3, 0)


async def test_read_requests_one_record_per_campaign_of_a_mixed_call(
    sim: httpx.AsyncClient,
) -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    await _send(sim, _of_campaign(one, 3) + _of_campaign(two, 2, start=10))
    entries = (await sim.get("/v1/requests")).json()["entries"]
    assert sorted((e["campaign_id"], e["recipients"]) for e in entries) == sorted(
        [(str(one), 3), (str(two), 2)]
    )
    assert len({e["started_at"] for e in entries}) == 1


async def test_read_requests_logs_refused_calls_and_recipient_answers(
    sim: httpx.AsyncClient,
) -> None:
    campaign = uuid.uuid4()
    await sim.post("/v1/config", json={"throttle_429_rate": 1.0})
    assert (await _send(sim, _of_campaign(campaign, 5))).status_code == 429
    await sim.post("/v1/config", json={"throttle_429_rate": 0.0, "error_5xx_rate": 1.0})
    assert (await _send(sim, _of_campaign(campaign, 5))).status_code == 503
    await sim.post("/v1/config", json={"error_5xx_rate": 0.0, "transient_rate": 1.0})
    assert (await _send(sim, _of_campaign(campaign, 5))).status_code == 200
    entries = (await sim.get("/v1/requests", params={"campaign_id": str(campaign)})).json()[
        "entries"
    ]
    assert [e["outcome"] for e in entries] == ["throttled", "unavailable", "ok"]
    assert [e["accepted"] for e in entries] == [0, 0, 0]
    assert entries[2]["transient"] == 5


async def test_read_requests_since_and_limit_filter(sim: httpx.AsyncClient) -> None:
    campaign = uuid.uuid4()
    for call in range(3):
        await _send(sim, _of_campaign(campaign, 1, start=call))
    everything = (await sim.get("/v1/requests")).json()["entries"]
    later = everything[1]["started_at"]
    since = (await sim.get("/v1/requests", params={"since": later})).json()["entries"]
    assert [e["started_at"] for e in since] == [e["started_at"] for e in everything[1:]]
    limited = (await sim.get("/v1/requests", params={"limit": 2})).json()["entries"]
    assert limited == everything[:2]


async def test_request_log_keeps_newest_within_capacity() -> None:
    async with (
        running_simulator(Settings(webhook_url="", request_log_max=2)) as base_url,
        httpx.AsyncClient(base_url=base_url) as sim,
    ):
        campaign = uuid.uuid4()
        for size in (1, 2, 3):
            await _send(sim, _of_campaign(campaign, size, start=size * 10))
        page = (await sim.get("/v1/requests")).json()
    assert [e["recipients"] for e in page["entries"]] == [2, 3]
    assert (page["recorded"], page["evicted"], page["capacity"]) == (3, 1, 2)


async def test_reset_clears_request_log(sim: httpx.AsyncClient) -> None:
    await _send(sim, _of_campaign(uuid.uuid4(), 2))
    await sim.post("/v1/reset")
    page = (await sim.get("/v1/requests")).json()
    assert (page["entries"], page["recorded"], page["evicted"]) == ([], 0, 0)


async def test_read_requests_bad_campaign_id_is_422_problem(sim: httpx.AsyncClient) -> None:
    response = await sim.get("/v1/requests", params={"campaign_id": "not-a-uuid"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "campaign_id"]


async def test_read_accepted_names_only_accepted_ids(sim: httpx.AsyncClient) -> None:
    accepted = [message(i) for i in range(3)]
    await _send(sim, accepted)
    await sim.post("/v1/config", json={"reject_rate": 1.0})
    refused = message(99)
    await _send(sim, [refused])
    ids = [refused["message_id"], accepted[2]["message_id"], accepted[0]["message_id"]]
    answer = (await sim.post("/v1/accepted", json={"message_ids": ids})).json()
    assert answer["accepted"] == ids[1:]


async def test_read_accepted_too_many_ids_is_422_problem(sim: httpx.AsyncClient) -> None:
    ids = [f"<{i}@x>" for i in range(10_001)]
    response = await sim.post("/v1/accepted", json={"message_ids": ids})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.message_ids")
