"""The Postmark endpoint: HTTP basic auth, bounce and spam-complaint records, other records."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import POSTMARK_PASSWORD, POSTMARK_USER, Ids, Ingest, example
from tests.webhook_ingest.keys import basic_auth

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
URL = "/webhooks/postmark"
AUTH = basic_auth(POSTMARK_USER, POSTMARK_PASSWORD)


def _record(name: str, ids: Ids, **fields: Any) -> bytes:
    record: dict[str, Any] = example(f"postmark/{name}.json")
    record["Metadata"] = ids.metadata()
    return orjson.dumps(record | fields)


@pytest.mark.parametrize(
    ("name", "kind", "bounce_type", "email", "suppressed"),
    [
        ("bounce", EventType.BOUNCED, "hard", "john@example.com", "hard_bounce"),
        ("spam-complaint", EventType.COMPLAINED, None, "john@example.com", "complaint"),
        ("delivery", EventType.DELIVERED, None, "john@example.com", None),
        ("open", EventType.OPENED, None, "john@example.com", None),
        ("click", EventType.CLICKED, None, "john@example.com", None),
        (
            "subscription-change",
            EventType.UNSUBSCRIBED,
            None,
            "bounced-address@wildbit.com",
            "unsubscribe",
        ),
    ],
)
async def test_post_postmark_webhook_emits_event(
    ingest: Ingest,
    ids: Ids,
    name: str,
    kind: EventType,
    bounce_type: str | None,
    email: str,
    suppressed: str | None,
) -> None:
    response = await ingest.client.post(URL, content=_record(name, ids), headers=AUTH)
    assert response.status_code == 200, response.text
    [event] = await ingest.emitted(1)
    assert (event.type, event.bounce_type, event.email) == (kind, bounce_type, email)
    assert event.campaign_id == ids.campaign_id
    expected = {email: suppressed} if suppressed else {}
    assert await ingest.suppressed(ids.account_id) == expected


async def test_post_postmark_bounce_event_id_from_record_id(ingest: Ingest, ids: Ids) -> None:
    for _ in range(2):
        response = await ingest.client.post(URL, content=_record("bounce", ids), headers=AUTH)
        assert response.status_code == 200
    first, second = await ingest.emitted(2)
    assert (
        first.event_id
        == second.event_id
        == provider_event_id("postmark", "bounce:4323372036854775807")
    )


@pytest.mark.parametrize(
    ("bounce_type", "expected"),
    [
        ("SoftBounce", "soft"),
        ("Transient", "soft"),
        ("DnsError", "soft"),
        ("BadEmailAddress", "hard"),
    ],
)
async def test_post_postmark_bounce_types(
    ingest: Ingest, ids: Ids, bounce_type: str, expected: str
) -> None:
    body = _record("bounce", ids, Type=bounce_type)
    assert (await ingest.client.post(URL, content=body, headers=AUTH)).status_code == 200
    [event] = await ingest.emitted(1)
    assert event.bounce_type == expected


async def test_post_postmark_auto_responder_ignored(ingest: Ingest, ids: Ids) -> None:
    body = _record("bounce", ids, Type="AutoResponder", TypeCode=64)
    response = await ingest.client.post(URL, content=body, headers=AUTH)
    assert response.json() == {"emitted": 0, "unattributed": 0, "ignored": 1, "dead_lettered": 0}
    assert await ingest.records_on_topic() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic_auth(POSTMARK_USER, "wrong"),
        basic_auth("someone", POSTMARK_PASSWORD),
        basic_auth(POSTMARK_USER, POSTMARK_PASSWORD + "x"),
        {"Authorization": "Bearer " + POSTMARK_PASSWORD},
        {"Authorization": "Basic !!!"},
    ],
    ids=["missing", "wrong-password", "wrong-user", "longer-password", "bearer", "garbage"],
)
async def test_post_postmark_webhook_bad_auth_unauthorized(
    ingest: Ingest, ids: Ids, headers: dict[str, str]
) -> None:
    response = await ingest.client.post(URL, content=_record("bounce", ids), headers=headers)
    assert response.status_code == 401
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_postmark_webhook_not_an_object_bad_request(ingest: Ingest) -> None:
    response = await ingest.client.post(URL, content=b"[]", headers=AUTH)
    assert response.status_code == 400
    assert "body: expected an object" in response.json()["detail"]
