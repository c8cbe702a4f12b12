"""SNS messages carrying SES example events, as the SES tests post them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from tests.webhook_ingest.conftest import Ids, Ingest, example
from tests.webhook_ingest.keys import TOPIC_ARN


def sns_time(age: timedelta = timedelta(0)) -> str:
    """An SNS `Timestamp` `age` ago (SNS's own format: milliseconds and a Z)."""
    return (datetime.now(UTC) - age).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(ses_event: str, ids: Ids | None, **envelope: Any) -> dict[str, Any]:
    """The SNS example envelope carrying an SES example event tagged with `ids`, sent now."""
    event = example(f"ses/{ses_event}.json")
    if ids is not None:
        event["mail"]["tags"] |= {k: [v] for k, v in ids.metadata().items()}
    message: dict[str, Any] = example("ses/sns-notification.json")
    for key in ("Signature", "SignatureVersion", "SigningCertURL"):
        del message[key]
    message.update(
        TopicArn=TOPIC_ARN,
        MessageId=str(uuid.uuid4()),
        Message=json.dumps(event),
        Timestamp=sns_time(),
    )
    del message["Subject"]  # SES notifications carry no Subject
    return message | envelope


def confirmation(**fields: str) -> dict[str, Any]:
    """The SNS example subscription confirmation for our topic, sent now."""
    message: dict[str, Any] = example("ses/sns-subscription-confirmation.json")
    for key in ("Signature", "SignatureVersion", "SigningCertURL"):
        del message[key]
    message["TopicArn"] = TOPIC_ARN
    message["Timestamp"] = sns_time()
    message["SubscribeURL"] = message["SubscribeURL"].replace(
        "arn:aws:sns:us-west-2:123456789012:MyTopic", TOPIC_ARN
    )
    return message | fields


async def post(ingest: Ingest, message: dict[str, Any]) -> int:
    """Post `message` as SNS does; the status code."""
    response = await ingest.client.post(
        "/webhooks/ses",
        content=orjson.dumps(message),
        headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "x"},
    )
    return response.status_code
