"""SendGrid's signed Event Webhook, as the simulator posts it.

A post is a JSON array of events; each carries the email's custom args
(Fanout's ids) at its top level, `sg_event_id`, `sg_message_id` and a unix
`timestamp`. Mapping: delivered → `delivered`, a hard bounce → `bounce` of
type `bounce`, a soft one → type `blocked`, complained → `spamreport`,
opened → `open`, clicked → `click`. Signed with ECDSA P-256 / SHA-256 over
the timestamp header followed by the body.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.webhooks import Post

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
CLICKED_URL = "https://fanout.example/landing"


def _kind(event: OutcomeEvent) -> dict[str, Any]:
    if event.type == "bounced":
        kind = "bounce" if event.bounce_type == "hard" else "blocked"
        return {"event": "bounce", "type": kind, "reason": event.reason}
    if event.type == "clicked":
        return {"event": "click", "url": CLICKED_URL}
    names = {"delivered": "delivered", "complained": "spamreport", "opened": "open"}
    return {"event": names[event.type], "response": "250 2.0.0 OK"}


def sendgrid_event(event: OutcomeEvent) -> dict[str, Any]:
    """One event object of the array."""
    meta = event.message.metadata
    return {
        "email": event.message.recipient,
        "timestamp": int(event.occurred_at),
        "smtp-id": event.message.message_id,
        "sg_event_id": base64.urlsafe_b64encode(event.id.bytes).decode().rstrip("="),
        "sg_message_id": event.message.provider_message_id,
        "account_id": str(meta.account_id),
        "campaign_id": str(meta.campaign_id),
        "lead_id": str(meta.lead_id),
        **_kind(event),
    }


class SendGridFormat:
    """One signed array per batch."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """One post of every event."""
        body = orjson.dumps([sendgrid_event(e) for e in events])
        return [Post(len(events), lambda: (body, self.headers(body)))]

    def headers(self, body: bytes) -> dict[str, str]:
        """The signature headers of `body` posted now."""
        timestamp = str(int(time.time()))
        signature = self._key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        }
