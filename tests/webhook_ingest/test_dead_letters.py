"""One bad event isolated: it goes to the dead-letter topic of email.events with its reason,
the rest of the request is recorded, and the provider gets its 2xx."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from shared.contracts.events import EventType
from tests.webhook_ingest.conftest import (
    POSTMARK_PASSWORD,
    POSTMARK_USER,
    Ids,
    Ingest,
    example,
    simulator_post,
)
from tests.webhook_ingest.keys import basic_auth, sign_sendgrid, sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _dead_lettered(topic: str) -> float:
    labels = {"group": "webhook_ingest", "topic": topic}
    return REGISTRY.get_sample_value("fanout_dead_lettered_total", labels) or 0.0


async def test_post_simulator_webhook_bad_event_dead_lettered_rest_recorded(
    ingest: Ingest, ids: Ids
) -> None:
    events: list[dict[str, Any]] = orjson.loads(simulator_post(ids))["events"]
    events[1]["occurred_at"] = "yesterday"
    body = orjson.dumps({"events": events})
    before = _dead_lettered(ingest.topic)
    response = await ingest.post_simulator(body)
    assert response.status_code == 200, response.text
    assert response.json() == {"emitted": 2, "unattributed": 0, "ignored": 0, "dead_lettered": 1}
    assert [e.type for e in await ingest.emitted(2)] == [EventType.DELIVERED, EventType.CLICKED]
    [letter] = await ingest.dead_letters(1)
    assert orjson.loads(letter.value) == events[1]
    assert letter.error == "simulator: events[1].occurred_at: not an ISO-8601 time: 'yesterday'"
    assert letter.source_topic == ingest.topic
    assert letter.consumer_group == "webhook_ingest"
    assert _dead_lettered(ingest.topic) == before + 1


async def test_post_sendgrid_webhook_unnormalisable_event_dead_lettered(
    ingest: Ingest, ids: Ids
) -> None:
    events: list[dict[str, Any]] = example("sendgrid/events.json")
    events = [event | ids.metadata() for event in events]
    events[2]["lead_id"] = "not-a-uuid"  # the delivered event
    body = orjson.dumps(events)
    headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
    response = await ingest.client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"emitted": 7, "unattributed": 0, "ignored": 3, "dead_lettered": 1}
    assert len(await ingest.emitted(7)) == 7
    [letter] = await ingest.dead_letters(1)
    assert orjson.loads(letter.value) == events[2]
    assert "lead_id: not a UUID" in letter.error
    assert await ingest.suppressed(ids.account_id) == {"example@test.com": "hard_bounce"}


async def test_post_postmark_webhook_malformed_record_dead_lettered(
    ingest: Ingest, ids: Ids
) -> None:
    record: dict[str, Any] = example("postmark/bounce.json")
    record["Metadata"] = ids.metadata()
    del record["Email"]
    response = await ingest.client.post(
        "/webhooks/postmark",
        content=orjson.dumps(record),
        headers=basic_auth(POSTMARK_USER, POSTMARK_PASSWORD),
    )
    assert response.status_code == 200, response.text
    assert response.json()["dead_lettered"] == 1
    [letter] = await ingest.dead_letters(1)
    assert "body.Email" in letter.error
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_webhook_unreadable_body_still_bad_request(ingest: Ingest) -> None:
    body = b"{not json"
    headers = sign_simulator(ingest.secret, int(time.time()), body)
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
