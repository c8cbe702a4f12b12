"""The SES endpoint: SNS signatures (v1, v2), certificate URL rules, topic allow-list, parsing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest

from services.webhook_ingest.providers.sns import is_sns_url
from shared.contracts.events import EventType, provider_event_id
from tests.webhook_ingest.conftest import Ids, Ingest
from tests.webhook_ingest.keys import sign_sns
from tests.webhook_ingest.ses_messages import confirmation, notification, post

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.mark.parametrize("version", ["1", "2"])
async def test_post_ses_webhook_bounce_emits_hard_bounce(
    ingest: Ingest, ids: Ids, version: str
) -> None:
    message = sign_sns(notification("event-bounce", ids), ingest.keys.sns_key, version)
    assert await post(ingest, message) == 200
    [event] = await ingest.emitted(1)
    assert event.type == EventType.BOUNCED
    assert event.bounce_type == "hard"
    assert event.reason.startswith("Permanent/General: smtp; 550 5.1.1")
    assert event.email == "recipient@example.com"
    assert (event.account_id, event.campaign_id, event.lead_id) == (
        ids.account_id,
        ids.campaign_id,
        ids.lead_id,
    )
    assert (
        event.provider_message_id == "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
    )
    feedback = "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000"
    assert event.event_id == provider_event_id("ses", f"bounce:{feedback}:recipient@example.com")
    assert await ingest.suppressed(ids.account_id) == {"recipient@example.com": "hard_bounce"}


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("event-complaint", EventType.COMPLAINED, "abuse"),
        ("event-delivery", EventType.DELIVERED, "250 2.6.0 Message received"),
        ("event-open", EventType.OPENED, ""),
        ("event-click", EventType.CLICKED, "http://docs.aws.amazon.com/ses/latest/"),
    ],
)
async def test_post_ses_webhook_event_types(
    ingest: Ingest, ids: Ids, name: str, kind: EventType, reason: str
) -> None:
    assert await post(ingest, sign_sns(notification(name, ids), ingest.keys.sns_key, "2")) == 200
    [event] = await ingest.emitted(1)
    assert event.type == kind
    assert event.reason.startswith(reason)
    expected = {"recipient@example.com": "complaint"} if kind == EventType.COMPLAINED else {}
    assert await ingest.suppressed(ids.account_id) == expected


@pytest.mark.parametrize(
    ("bounce_type", "expected"), [("Transient", "soft"), ("Undetermined", "soft")]
)
async def test_post_ses_webhook_soft_bounce_types(
    ingest: Ingest, ids: Ids, bounce_type: str, expected: str
) -> None:
    message = notification("event-bounce", ids)
    event = json.loads(message["Message"])
    event["bounce"].update(bounceType=bounce_type, bounceSubType="MailboxFull")
    message["Message"] = json.dumps(event)
    assert await post(ingest, sign_sns(message, ingest.keys.sns_key)) == 200
    [emitted] = await ingest.emitted(1)
    assert (emitted.bounce_type, emitted.reason.split(":")[0]) == (
        expected,
        f"{bounce_type}/MailboxFull",
    )
    assert await ingest.suppressed(ids.account_id) == {}


IGNORED = {"emitted": 0, "unattributed": 0, "ignored": 1, "dead_lettered": 0}
UNATTRIBUTED = {"emitted": 0, "unattributed": 1, "ignored": 0, "dead_lettered": 0}


@pytest.mark.parametrize(
    ("name", "tagged", "answer"),
    [
        ("event-reject", True, IGNORED),
        ("event-delivery-delay", True, IGNORED),
        ("notification-bounce", False, UNATTRIBUTED),  # a classic notification: no tags
    ],
)
async def test_post_ses_webhook_not_emitted(
    ingest: Ingest, ids: Ids, name: str, tagged: bool, answer: dict[str, int]
) -> None:
    message = sign_sns(notification(name, ids if tagged else None), ingest.keys.sns_key)
    response = await ingest.client.post("/webhooks/ses", content=orjson.dumps(message))
    assert response.status_code == 200
    assert response.json() == answer
    assert await ingest.records_on_topic() == 0


async def test_post_ses_webhook_twice_same_event_id_and_cached_certificate(
    ingest: Ingest, ids: Ids
) -> None:
    message = sign_sns(notification("event-delivery", ids), ingest.keys.sns_key)
    assert await post(ingest, message) == 200
    assert await post(ingest, message) == 200
    first, second = await ingest.emitted(2)
    assert first.event_id == second.event_id
    assert len(ingest.fetched) == 1


def _forgeries(ingest: Ingest, ids: Ids) -> dict[str, dict[str, Any]]:
    good = sign_sns(notification("event-bounce", ids), ingest.keys.sns_key)
    other_body = notification("event-complaint", ids)
    return {
        "other-key": sign_sns(notification("event-bounce", ids), ingest.keys.other_key),
        "tampered-message": good | {"Message": other_body["Message"]},
        "signature-of-other-message": good | {"MessageId": str(uuid.uuid4())},
        "missing-signature": {k: v for k, v in good.items() if k != "Signature"},
        "empty-signature": good | {"Signature": ""},
        "not-base64": good | {"Signature": "%%%"},
        "unknown-version": good | {"SignatureVersion": "3"},
        "v1-signature-claimed-v2": good | {"SignatureVersion": "2"},
    }


@pytest.mark.parametrize(
    "case",
    [
        "other-key",
        "tampered-message",
        "signature-of-other-message",
        "missing-signature",
        "empty-signature",
        "not-base64",
        "unknown-version",
        "v1-signature-claimed-v2",
    ],
)
async def test_post_ses_webhook_forged_unauthorized(ingest: Ingest, ids: Ids, case: str) -> None:
    assert await post(ingest, _forgeries(ingest, ids)[case]) == 401
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-west-2.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-west-2.amazonaws.com.evil.example/SimpleNotificationService-test.pem",
        "https://evil.example/sns.us-west-2.amazonaws.com/x.pem",
        "https://sns.us-west-2.amazonaws.com@evil.example/x.pem",
        "https://xsns.us-west-2.amazonaws.com/x.pem",
        "https://sns.us-west-2.amazonaws.com:8443/x.pem",
        "https://sns.us-west-2.amazonaws.com/x.txt",
        "https://s3.amazonaws.com/sns.us-west-2.amazonaws.com/x.pem",
    ],
)
async def test_post_ses_webhook_untrusted_cert_url_never_fetched(
    ingest: Ingest, ids: Ids, url: str
) -> None:
    assert not is_sns_url(url, pem=True)
    message = sign_sns(notification("event-bounce", ids, SigningCertURL=url), ingest.keys.sns_key)
    assert await post(ingest, message) == 401
    assert ingest.fetched == []
    assert await ingest.records_on_topic() == 0


async def test_post_ses_webhook_topic_not_allowed_forbidden(ingest: Ingest, ids: Ids) -> None:
    other_topic = "arn:aws:sns:us-west-2:999999999999:someone-else"
    message = sign_sns(notification("event-bounce", ids, TopicArn=other_topic), ingest.keys.sns_key)
    assert await post(ingest, message) == 403
    assert await ingest.records_on_topic() == 0
    assert await ingest.suppressed(ids.account_id) == {}


async def test_post_ses_subscription_confirmation_confirms(ingest: Ingest) -> None:
    message = sign_sns(confirmation(), ingest.keys.sns_key)
    assert await post(ingest, message) == 200
    assert ingest.confirmed == [message["SubscribeURL"]]
    assert await ingest.records_on_topic() == 0


async def test_post_ses_subscription_confirmation_foreign_url_refused(ingest: Ingest) -> None:
    message = sign_sns(
        confirmation(SubscribeURL="https://evil.example/?Action=ConfirmSubscription"),
        ingest.keys.sns_key,
    )
    response = await ingest.client.post("/webhooks/ses", content=orjson.dumps(message))
    assert response.status_code == 400
    assert "SubscribeURL" in response.json()["detail"]
    assert ingest.confirmed == []


async def test_post_ses_subscription_confirmation_forged_unauthorized(ingest: Ingest) -> None:
    message = sign_sns(confirmation(), ingest.keys.other_key)
    assert await post(ingest, message) == 401
    assert ingest.confirmed == []


async def test_post_ses_webhook_malformed_inner_message_dead_lettered(
    ingest: Ingest, ids: Ids
) -> None:
    message = notification("event-bounce", ids)
    message["Message"] = '{"eventType": "Bounce", "mail": {"messageId": "m"}}'
    signed = sign_sns(message, ingest.keys.sns_key)
    response = await ingest.client.post("/webhooks/ses", content=orjson.dumps(signed))
    assert response.status_code == 200
    assert response.json()["dead_lettered"] == 1
    assert await ingest.records_on_topic() == 0
    [letter] = await ingest.dead_letters(1)
    assert "Message.bounce" in letter.error
    assert orjson.loads(letter.value) == signed  # the whole signed notification, replayable
