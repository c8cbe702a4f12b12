"""Mailgun's webhooks, as the simulator posts them: one event per post.

The body is `{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}`
where the signature is HMAC-SHA256(signing key, timestamp + token) and the
token is new for every post. `event-data` carries `id`, `event`, `timestamp`,
`recipient`, `message.headers.message-id` and the message's `v:` variables as
`user-variables` (Fanout's ids). Mapping: delivered, a bounce → `failed` with
severity permanent (hard) or temporary (soft), complained, opened, clicked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import partial
from typing import Any

import orjson

from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.webhooks import Post

CLICKED_URL = "https://fanout.example/landing"


def event_data(event: OutcomeEvent) -> dict[str, Any]:
    """The `event-data` object of one event."""
    meta = event.message.metadata
    data: dict[str, Any] = {
        "id": event.id.hex,
        "event": "failed" if event.type == "bounced" else event.type,
        "timestamp": round(event.occurred_at, 6),
        "recipient": event.message.recipient,
        "message": {"headers": {"message-id": event.message.message_id.strip("<>")}},
        "user-variables": {
            "account_id": str(meta.account_id),
            "campaign_id": str(meta.campaign_id),
            "lead_id": str(meta.lead_id),
        },
    }
    if event.type == "bounced":
        permanent = event.bounce_type == "hard"
        data["severity"] = "permanent" if permanent else "temporary"
        data["reason"] = "bounce" if permanent else "generic"
        data["delivery-status"] = {"message": event.reason, "description": event.reason}
    if event.type == "clicked":
        data["url"] = CLICKED_URL
    return data


class MailgunFormat:
    """One signed post per event."""

    def __init__(self, signing_key: str) -> None:
        self._key = signing_key

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """One post for each event."""
        return [Post(1, partial(self.post, event_data(e))) for e in events]

    def post(self, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body of `data` signed now, with a fresh token."""
        timestamp, token = str(int(time.time())), secrets.token_hex(25)
        digest = hmac.new(self._key.encode(), (timestamp + token).encode(), hashlib.sha256)
        signature = {"timestamp": timestamp, "token": token, "signature": digest.hexdigest()}
        body = orjson.dumps({"signature": signature, "event-data": data})
        return body, {"Content-Type": "application/json"}
