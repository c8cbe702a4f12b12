"""SES events delivered through SNS, as the simulator posts them: one notification per event.

The SES event (event publishing: `eventType`, `mail` with the message tags as
lists, and the event's own object: `delivery`, `bounce`, `complaint`, `open`,
`click`) is the `Message` of an SNS `Notification` from the configured topic,
signed with SignatureVersion 2 (SHA256withRSA over SNS's canonical string)
by the key whose certificate the simulator serves at `SigningCertURL`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from services.esp_simulator.dialects.keys import SnsSigner
from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.webhooks import Post

CLICKED_URL = "https://fanout.example/landing"
SIGNED_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


def _iso(seconds: float) -> str:
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _detail(event: OutcomeEvent) -> tuple[str, dict[str, Any]]:
    recipient, when = event.message.recipient, _iso(event.occurred_at)
    if event.type == "bounced":
        kind = "Permanent" if event.bounce_type == "hard" else "Transient"
        entry = {"emailAddress": recipient, "diagnosticCode": event.reason}
        return "Bounce", {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [entry],
            "timestamp": when,
            "feedbackId": str(event.id),
        }
    if event.type == "complained":
        return "Complaint", {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": when,
            "feedbackId": str(event.id),
            "complaintFeedbackType": "abuse",
        }
    if event.type == "delivered":
        return "Delivery", {
            "timestamp": when,
            "recipients": [recipient],
            "smtpResponse": "250 2.6.0 Message received",
        }
    if event.type == "opened":
        return "Open", {"timestamp": when, "ipAddress": "192.0.2.1", "userAgent": "simulator"}
    return "Click", {"timestamp": when, "link": CLICKED_URL, "ipAddress": "192.0.2.1"}


def ses_event(event: OutcomeEvent) -> dict[str, Any]:
    """The SES event of one outcome."""
    kind, detail = _detail(event)
    meta = event.message.metadata
    mail = {
        "timestamp": _iso(event.occurred_at),
        "messageId": event.message.provider_message_id,
        "destination": [event.message.recipient],
        "tags": {
            "account_id": [str(meta.account_id)],
            "campaign_id": [str(meta.campaign_id)],
            "lead_id": [str(meta.lead_id)],
        },
    }
    return {"eventType": kind, "mail": mail, kind.lower(): detail}


class SesFormat:
    """One signed SNS notification per event."""

    def __init__(self, signer: SnsSigner, topic_arn: str, certificate_url: str) -> None:
        self._signer = signer
        self._topic = topic_arn
        self._certificate_url = certificate_url

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """One post for each event."""
        return [Post(1, partial(self.notification, e)) for e in events]

    def notification(self, event: OutcomeEvent) -> tuple[bytes, dict[str, str]]:
        """The SNS notification of `event`, signed now (its id stays the same on retries)."""
        message = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid5(event.id, "sns")),
            "TopicArn": self._topic,
            "Message": orjson.dumps(ses_event(event)).decode(),
            "Timestamp": _iso(datetime.now(UTC).timestamp()),
            "SignatureVersion": "2",
            "SigningCertURL": self._certificate_url,
        }
        canonical = "".join(f"{k}\n{message[k]}\n" for k in SIGNED_KEYS if k in message)
        message["Signature"] = self._signer.sign(canonical.encode())
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-topic-arn": self._topic,
        }
        return orjson.dumps(message), headers
