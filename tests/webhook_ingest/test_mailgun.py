"""The Mailgun endpoint: HMAC of timestamp + token, stale timestamps, single-use tokens."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
import pytest

from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import MAILGUN_KEY, Ids, Ingest, example
from tests.webhook_ingest.keys import mailgun_signature

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
URL = "/webhooks/mailgun"


def _signed(name: str, ids: Ids, *, key: str = MAILGUN_KEY, age_s: int = 0) -> dict[str, Any]:
    """The documented payload with Fanout's user-variables and a fresh signature."""
    payload: dict[str, Any] = example(f"mailgun/{name}.json")
    payload["event-data"]["user-variables"] = ids.metadata()
    token = secrets.token_hex(25)
    payload["signature"] = mailgun_signature(key, int(time.time()) - age_s, token)
    return payload


async def _post(ingest: Ingest, payload: dict[str, Any]) -> int:
    return (await ingest.client.post(URL, content=orjson.dumps(payload))).status_code


@pytest.mark.parametrize(
    ("name", "kind", "bounce_type"),
    [
        ("delivered", EventType.DELIVERED, None),
        ("failed-permanent", EventType.BOUNCED, "hard"),
        ("failed-temporary", EventType.BOUNCED, "soft"),
        ("complained", EventType.COMPLAINED, None),
        ("opened", EventType.OPENED, None),
        ("clicked", EventType.CLICKED, None),
        ("unsubscribed", EventType.UNSUBSCRIBED, None),
    ],
)
async def test_post_mailgun_webhook_emits_event(
    ingest: Ingest, ids: Ids, name: str, kind: EventType, bounce_type: str | None
) -> None:
    payload = _signed(name, ids)
    assert await _post(ingest, payload) == 200
    [event] = await ingest.emitted(1)
    assert (event.type, event.bounce_type) == (kind, bounce_type)
    assert event.event_id == provider_event_id("mailgun", payload["event-data"]["id"])
    assert event.email == "alice@example.com"
    assert event.lead_id == ids.lead_id
    reasons = {
        EventType.BOUNCED: "hard_bounce",
        EventType.COMPLAINED: "complaint",
        EventType.UNSUBSCRIBED: "unsubscribe",
    }
    expected = (
        {} if bounce_type == "soft" or kind not in reasons else {"alice@example.com": reasons[kind]}
    )
    assert await ingest.suppressed(ids.account_id) == expected


async def test_post_mailgun_webhook_permanent_failure_reason(ingest: Ingest, ids: Ids) -> None:
    assert await _post(ingest, _signed("failed-permanent", ids)) == 200
    [event] = await ingest.emitted(1)
    assert event.reason == "permanent/suppress-bounce: Not delivering to previously bounced address"


async def test_post_mailgun_webhook_reused_token_unauthorized(ingest: Ingest, ids: Ids) -> None:
    payload = _signed("failed-permanent", ids)
    assert await _post(ingest, payload) == 200
    await ingest.pool.execute("DELETE FROM suppressions WHERE account_id = $1", ids.account_id)
    assert await _post(ingest, payload) == 401
    assert await ingest.records_on_topic() == 1
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_mailgun_webhook_retry_with_new_token_same_event_id(
    ingest: Ingest, ids: Ids
) -> None:
    assert await _post(ingest, _signed("delivered", ids)) == 200
    assert await _post(ingest, _signed("delivered", ids)) == 200
    first, second = await ingest.emitted(2)
    assert first.event_id == second.event_id


def _forged(case: str, ids: Ids) -> dict[str, Any]:
    if case == "wrong-key":
        return _signed("failed-permanent", ids, key="key-someone-else")
    if case == "stale":
        return _signed("failed-permanent", ids, age_s=3600)
    payload = _signed("failed-permanent", ids)
    if case == "tampered-token":
        payload["signature"]["token"] = secrets.token_hex(25)
    elif case == "tampered-timestamp":
        payload["signature"]["timestamp"] = str(int(payload["signature"]["timestamp"]) - 1)
    elif case == "missing-signature":
        del payload["signature"]
    elif case == "documented-example-signature":
        payload["signature"] = example("mailgun/delivered.json")["signature"]
    else:
        assert case == "empty-signature"
        payload["signature"]["signature"] = ""
    return payload


@pytest.mark.parametrize(
    "case",
    [
        "wrong-key",
        "stale",
        "tampered-token",
        "tampered-timestamp",
        "missing-signature",
        "documented-example-signature",
        "empty-signature",
    ],
)
async def test_post_mailgun_webhook_forged_unauthorized(
    ingest: Ingest, ids: Ids, case: str
) -> None:
    assert await _post(ingest, _forged(case, ids)) == 401
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_mailgun_webhook_unknown_severity_dead_lettered(
    ingest: Ingest, ids: Ids
) -> None:
    payload = _signed("failed-permanent", ids)
    payload["event-data"]["severity"] = "sometimes"
    response = await ingest.client.post(URL, content=orjson.dumps(payload))
    assert response.status_code == 200
    assert response.json()["dead_lettered"] == 1
    [letter] = await ingest.dead_letters(1)
    assert "event-data.severity" in letter.error
    assert orjson.loads(letter.value) == payload["event-data"]
    assert await ingest.suppressed(ids.account_id) == {}
    assert await _post(ingest, payload) == 401  # dead-lettered is recorded: the token is spent
