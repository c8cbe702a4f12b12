"""Request limits and malformed bodies: 413 over the size limit, 400 with the reason for a body
that cannot be read, a malformed event dead-lettered with its reason; health."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
import pytest

from tests.webhook_ingest.conftest import Ids, Ingest
from tests.webhook_ingest.keys import sign_simulator

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def test_post_webhook_oversized_content_length_too_large(ingest: Ingest) -> None:
    body = b"[" + b" " * ingest.settings.max_body_bytes + b"]"
    for provider in ("simulator", "ses", "sendgrid", "mailgun", "postmark"):
        response = await ingest.client.post(f"/webhooks/{provider}", content=body)
        assert response.status_code == 413, provider
    assert await ingest.records_on_topic() == 0


async def test_post_webhook_oversized_stream_too_large(ingest: Ingest) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(ingest.settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = await ingest.client.post("/webhooks/simulator", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "body: expected an object"),
        (b'{"events": "none"}', "body.events: expected list"),
    ],
)
async def test_post_simulator_webhook_unreadable_body_bad_request(
    ingest: Ingest, body: bytes, detail: str
) -> None:
    headers = sign_simulator(ingest.secret, int(time.time()), body)
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert await ingest.records_on_topic() == 0


async def _dead_lettered(ingest: Ingest, body: bytes) -> str:
    """Post a signed simulator `body` holding one bad event; the reason it was dead-lettered."""
    headers = sign_simulator(ingest.secret, int(time.time()), body)
    response = await ingest.client.post("/webhooks/simulator", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["dead_lettered"] == 1
    assert await ingest.records_on_topic() == 0
    [letter] = await ingest.dead_letters(1)
    return letter.error


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"events": [{"id": "x"}]}', "events[0].type"),
        (b'{"events": [{"id": "not-a-uuid", "type": "delivered"}]}', "events[0].id: not a UUID"),
        (
            b'{"events": [{"id": "0b6c3c3e-8f5c-4d0e-9f1a-2b3c4d5e6f70", "type": "bounced",'
            b' "recipient": "a@b.c", "occurred_at": "2026-11-23T09:00:00Z"}]}',
            "bounce_type",
        ),
        (
            b'{"events": [{"id": "0b6c3c3e-8f5c-4d0e-9f1a-2b3c4d5e6f70", "type": "delivered",'
            b' "recipient": "a@b.c", "occurred_at": "yesterday"}]}',
            "occurred_at",
        ),
    ],
)
async def test_post_simulator_webhook_malformed_event_dead_lettered(
    ingest: Ingest, body: bytes, detail: str
) -> None:
    assert detail in await _dead_lettered(ingest, body)


async def test_post_simulator_webhook_partial_ids_dead_lettered(ingest: Ingest, ids: Ids) -> None:
    event = {
        "id": "0b6c3c3e-8f5c-4d0e-9f1a-2b3c4d5e6f70",
        "type": "delivered",
        "recipient": "a@b.c",
        "occurred_at": "2026-11-23T09:00:00Z",
        "metadata": {"account_id": str(ids.account_id), "campaign_id": str(ids.campaign_id)},
    }
    assert "lead_id" in await _dead_lettered(ingest, orjson.dumps({"events": [event]}))


async def test_get_health_and_readiness(ingest: Ingest) -> None:
    assert (await ingest.client.get("/healthz")).json() == {"status": "ok"}
    assert (await ingest.client.get("/readyz")).status_code == 401  # the public webhook port
    assert (await ingest.client.get("/metrics")).status_code == 401
    ops = {"Authorization": f"Bearer {ingest.settings.common.secret('ops_token')}"}
    ready = await ingest.client.get("/readyz", headers=ops)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "kafka": "ok"}
    metrics = await ingest.client.get("/metrics", headers=ops)
    assert "fanout_webhooks_total" in metrics.text


@pytest.mark.parametrize(
    "recipient", ["nul\u0000@example.com", "no-at-sign", "two words@example.com"]
)
async def test_post_simulator_webhook_bad_recipient_dead_lettered(
    ingest: Ingest, ids: Ids, recipient: str
) -> None:
    event = {
        "id": "0b6c3c3e-8f5c-4d0e-9f1a-2b3c4d5e6f70",
        "type": "bounced",
        "bounce_type": "hard",
        "recipient": recipient,
        "occurred_at": "2026-11-23T09:00:00Z",
        "metadata": ids.metadata(),
    }
    body = orjson.dumps({"events": [event]})
    assert "not an email address" in await _dead_lettered(ingest, body)
    assert await ingest.suppressed(ids.account_id) == {}
