"""The simulator endpoint: HMAC over timestamp + body, tolerance, normalisation."""

from __future__ import annotations

import time

import orjson
import pytest

from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import Ids, Ingest, simulator_post
from tests.webhook_ingest.keys import sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def _post(ingest: Ingest, body: bytes, headers: dict[str, str]) -> int:
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
    return response.status_code


async def test_post_simulator_webhook_emits_events(ingest: Ingest, ids: Ids) -> None:
    body = simulator_post(ids)
    response = await ingest.post_simulator(body)
    assert response.status_code == 200, response.text
    assert response.json() == {"emitted": 3, "unattributed": 0, "ignored": 0, "dead_lettered": 0}
    events = await ingest.emitted(3)
    assert [e.type for e in events] == [EventType.DELIVERED, EventType.OPENED, EventType.CLICKED]
    sent = orjson.loads(body)["events"]
    assert [e.event_id for e in events] == [provider_event_id("simulator", s["id"]) for s in sent]
    assert {(e.account_id, e.campaign_id, e.lead_id) for e in events} == {
        (ids.account_id, ids.campaign_id, ids.lead_id)
    }
    assert events[0].provider == "simulator"
    assert events[0].provider_message_id == sent[0]["provider_message_id"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Simulator-Timestamp": "NOW"},
        {"X-Simulator-Signature": "v1=00"},
        {"X-Simulator-Timestamp": "NOW", "X-Simulator-Signature": "v1=" + "ab" * 32},
        {"X-Simulator-Timestamp": "NOW", "X-Simulator-Signature": "garbage"},
    ],
    ids=["missing", "no-signature", "no-timestamp", "forged", "garbage"],
)
async def test_post_simulator_webhook_bad_signature_unauthorized(
    ingest: Ingest, ids: Ids, headers: dict[str, str]
) -> None:
    body = simulator_post(ids)
    headers = {k: v.replace("NOW", str(int(time.time()))) for k, v in headers.items()}
    assert await _post(ingest, body, headers) == 401
    assert await ingest.records_on_topic() == 0


async def test_post_simulator_webhook_wrong_secret_unauthorized(ingest: Ingest, ids: Ids) -> None:
    body = simulator_post(ids)
    assert (
        await _post(ingest, body, sign_simulator("another-secret", int(time.time()), body)) == 401
    )
    assert await ingest.records_on_topic() == 0


async def test_post_simulator_webhook_replayed_stale_unauthorized(ingest: Ingest, ids: Ids) -> None:
    body = simulator_post(ids)
    captured = sign_simulator(ingest.secret, int(time.time()) - 301, body)
    assert await _post(ingest, body, captured) == 401
    future = sign_simulator(ingest.secret, int(time.time()) + 301, body)
    assert await _post(ingest, body, future) == 401
    assert await ingest.records_on_topic() == 0


async def test_post_simulator_webhook_signature_of_other_body_unauthorized(
    ingest: Ingest, ids: Ids
) -> None:
    body = simulator_post(ids)
    headers = sign_simulator(ingest.secret, int(time.time()), body)
    tampered = body.replace(b'"delivered"', b'"complained"')
    assert tampered != body
    assert await _post(ingest, tampered, headers) == 401
    assert await ingest.records_on_topic() == 0


async def test_post_simulator_webhook_twice_same_event_ids(ingest: Ingest, ids: Ids) -> None:
    body = simulator_post(ids)
    for _ in range(2):
        assert (
            await _post(ingest, body, sign_simulator(ingest.secret, int(time.time()), body)) == 200
        )
    events = await ingest.emitted(6)
    assert len(events) == 6
    assert [e.event_id for e in events[:3]] == [e.event_id for e in events[3:]]


async def test_post_simulator_webhook_without_metadata_not_emitted(
    ingest: Ingest, ids: Ids
) -> None:
    payload = orjson.loads(simulator_post(ids))
    for event in payload["events"]:
        event["metadata"] = {}
    body = orjson.dumps(payload)
    response = await ingest.post_simulator(body)
    assert response.status_code == 200
    assert response.json() == {"emitted": 0, "unattributed": 3, "ignored": 0, "dead_lettered": 0}
    assert await ingest.records_on_topic() == 0
