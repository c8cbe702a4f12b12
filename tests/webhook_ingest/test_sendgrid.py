"""The SendGrid endpoint: ECDSA P-256 signatures over timestamp + body, event mapping."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import Ids, Ingest, example
from tests.webhook_ingest.keys import sign_sendgrid

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
URL = "/webhooks/sendgrid"


def _events(ids: Ids, name: str = "events") -> bytes:
    """The documented events with Fanout's custom args on each."""
    events: list[dict[str, Any]] = example(f"sendgrid/{name}.json")
    return orjson.dumps([event | ids.metadata() for event in events])


async def test_post_sendgrid_webhook_emits_events(ingest: Ingest, ids: Ids) -> None:
    body = _events(ids)
    headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
    response = await ingest.client.post(URL, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"emitted": 8, "unattributed": 0, "ignored": 3, "dead_lettered": 0}
    events = await ingest.emitted(8)
    assert [(e.type, e.bounce_type) for e in events] == [
        (EventType.DELIVERED, None),
        (EventType.OPENED, None),
        (EventType.CLICKED, None),
        (EventType.BOUNCED, "hard"),
        (EventType.BOUNCED, "hard"),
        (EventType.COMPLAINED, None),
        (EventType.UNSUBSCRIBED, None),
        (EventType.UNSUBSCRIBED, None),
    ]
    assert events[0].event_id == provider_event_id("sendgrid", "rWVYmVk90MjZJ9iohOBa3w==")
    assert events[3].reason == "bounce/Invalid Address: 500 unknown recipient"
    assert events[4].reason == "dropped: Bounced Address"
    assert events[2].reason == "http://www.sendgrid.com/"
    assert {e.lead_id for e in events} == {ids.lead_id}
    assert await ingest.suppressed(ids.account_id) == {"example@test.com": "hard_bounce"}


async def test_post_sendgrid_webhook_blocked_is_soft_bounce(ingest: Ingest, ids: Ids) -> None:
    body = _events(ids, "blocked")
    headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
    assert (await ingest.client.post(URL, content=body, headers=headers)).status_code == 200
    [event] = await ingest.emitted(1)
    assert (event.type, event.bounce_type) == (EventType.BOUNCED, "soft")
    assert event.reason.startswith("blocked/Reputation")
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_sendgrid_webhook_twice_same_event_ids(ingest: Ingest, ids: Ids) -> None:
    body = _events(ids)
    for _ in range(2):
        headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
        assert (await ingest.client.post(URL, content=body, headers=headers)).status_code == 200
    events = await ingest.emitted(16)
    assert [e.event_id for e in events[:8]] == [e.event_id for e in events[8:]]


def _forged(
    case: str, body: bytes, key: ec.EllipticCurvePrivateKey
) -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    good = sign_sendgrid(key, now, body)
    ts, sig = "X-Twilio-Email-Event-Webhook-Timestamp", "X-Twilio-Email-Event-Webhook-Signature"
    if case == "other-key":
        return body, sign_sendgrid(ec.generate_private_key(ec.SECP256R1()), now, body)
    if case == "tampered-body":
        return body.replace(b'"delivered"', b'"spamreport"'), good
    if case == "other-timestamp":
        return body, good | {ts: str(now - 5)}
    if case == "replayed-stale":
        return body, sign_sendgrid(key, now - 3600, body)
    if case == "missing-signature":
        return body, {ts: good[ts]}
    if case == "missing-timestamp":
        return body, {sig: good[sig]}
    assert case == "not-base64"
    return body, good | {sig: "not base64!"}


@pytest.mark.parametrize(
    "case",
    [
        "other-key",
        "tampered-body",
        "other-timestamp",
        "replayed-stale",
        "missing-signature",
        "missing-timestamp",
        "not-base64",
    ],
)
async def test_post_sendgrid_webhook_forged_unauthorized(
    ingest: Ingest, ids: Ids, case: str
) -> None:
    body, headers = _forged(case, _events(ids), ingest.keys.sendgrid_key)
    assert (await ingest.client.post(URL, content=body, headers=headers)).status_code == 401
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_sendgrid_webhook_not_an_array_bad_request(ingest: Ingest) -> None:
    body = orjson.dumps({"event": "delivered"})
    headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
    response = await ingest.client.post(URL, content=body, headers=headers)
    assert response.status_code == 400
    assert "expected a JSON array" in response.json()["detail"]
    assert await ingest.records_on_topic() == 0
