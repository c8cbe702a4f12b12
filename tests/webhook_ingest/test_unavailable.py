"""Kafka not taking the events: 503 so the provider retries; the retry then records them."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.kafka.producer import make_producer
from tests.webhook_ingest.conftest import MAILGUN_KEY, Ids, Ingest, example
from tests.webhook_ingest.keys import mailgun_signature

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _mailgun(ids: Ids) -> dict[str, Any]:
    payload: dict[str, Any] = example("mailgun/failed-permanent.json")
    payload["event-data"]["user-variables"] = ids.metadata()
    payload["signature"] = mailgun_signature(MAILGUN_KEY, int(time.time()), secrets.token_hex(25))
    return payload


async def test_post_webhook_kafka_down_unavailable_then_retry_recorded(
    ingest: Ingest, ids: Ids
) -> None:
    recorder = ingest.app.state.recorder
    recorder.send_timeout_s = 1.0
    working: AIOKafkaProducer = recorder.producer
    stopped = make_producer(ingest.settings.common)
    await stopped.start()
    await stopped.stop()
    recorder.producer = stopped
    payload = _mailgun(ids)
    try:
        response = await ingest.client.post("/webhooks/mailgun", content=orjson.dumps(payload))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert "Kafka" not in response.text  # internal errors go to the log only
        assert await ingest.records_on_topic() == 0
    finally:
        recorder.producer = working
    # Mailgun retries the same post (same token): accepted now, recorded once
    response = await ingest.client.post("/webhooks/mailgun", content=orjson.dumps(payload))
    assert response.status_code == 200
    assert len(await ingest.emitted(1)) == 1
    assert await ingest.suppressed(ids.account_id) == {"alice@example.com": "hard_bounce"}
