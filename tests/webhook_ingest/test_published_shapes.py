"""Every published payload shape accepted: the providers' own documented examples that have no
event id, time in milliseconds, no record type, or a display-name recipient."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import POSTMARK_PASSWORD, POSTMARK_USER, Ids, Ingest, example
from tests.webhook_ingest.keys import basic_auth, sign_sendgrid, sign_sns
from tests.webhook_ingest.ses_messages import notification, post

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def _post_sendgrid(ingest: Ingest, ids: Ids, name: str) -> dict[str, Any]:
    events: list[dict[str, Any]] = example(f"sendgrid/{name}.json")
    body = orjson.dumps([event | ids.metadata() for event in events])
    headers = sign_sendgrid(ingest.keys.sendgrid_key, int(time.time()), body)
    response = await ingest.client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


@pytest.mark.parametrize("name", ["categories-string", "categories-array"])
async def test_post_sendgrid_events_without_sg_event_id_get_deterministic_ids(
    ingest: Ingest, ids: Ids, name: str
) -> None:
    for _ in range(2):
        assert (await _post_sendgrid(ingest, ids, name))["emitted"] == 2
    events = await ingest.emitted(4)
    assert [e.type for e in events] == [EventType.OPENED] * 4
    assert [e.email for e in events[:2]] == ["john.doe@sendgrid.com", "jane.doe@sendgrid.com"]
    first, second = [e.event_id for e in events[:2]], [e.event_id for e in events[2:]]
    assert first == second  # the same event posted again has the same id
    assert first[0] != first[1]


async def test_post_sendgrid_legacy_unsubscribe_suppresses(ingest: Ingest, ids: Ids) -> None:
    assert (await _post_sendgrid(ingest, ids, "legacy-unsubscribe"))["emitted"] == 1
    [event] = await ingest.emitted(1)
    assert event.type == EventType.UNSUBSCRIBED
    assert event.occurred_at == datetime(2013, 10, 3, 17, 47, 17, tzinfo=UTC)
    assert await ingest.suppressed(ids.account_id) == {"nick@sendgrid.com": "unsubscribe"}


async def test_post_sendgrid_single_send_timestamp_in_milliseconds(
    ingest: Ingest, ids: Ids
) -> None:
    assert (await _post_sendgrid(ingest, ids, "single-send"))["emitted"] == 1
    [event] = await ingest.emitted(1)
    assert event.occurred_at == datetime(2020, 6, 9, 18, 19, 12, 372000, tzinfo=UTC)


async def test_post_postmark_bounce_without_record_type(ingest: Ingest, ids: Ids) -> None:
    record: dict[str, Any] = example("postmark/bounce-legacy.json") | {"Metadata": ids.metadata()}
    response = await ingest.client.post(
        "/webhooks/postmark",
        content=orjson.dumps(record),
        headers=basic_auth(POSTMARK_USER, POSTMARK_PASSWORD),
    )
    assert response.status_code == 200, response.text
    [event] = await ingest.emitted(1)
    assert (event.type, event.bounce_type) == (EventType.BOUNCED, "hard")
    assert event.event_id == provider_event_id("postmark", "bounce:42")
    assert await ingest.suppressed(ids.account_id) == {"john@example.com": "hard_bounce"}


async def test_post_ses_recipient_with_display_name(ingest: Ingest, ids: Ids) -> None:
    addressed = example("ses/mail-object.json")["commonHeaders"]["to"]  # "Name <addr>"
    message = notification("event-open", ids)
    event = orjson.loads(message["Message"])
    event["mail"]["destination"] = addressed
    message["Message"] = orjson.dumps(event).decode()
    assert await post(ingest, sign_sns(message, ingest.keys.sns_key)) == 200
    [opened] = await ingest.emitted(1)
    assert (opened.type, opened.email) == (EventType.OPENED, "recipient@example.com")
