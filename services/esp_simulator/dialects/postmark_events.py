"""Postmark's webhooks, as the simulator posts them: one record per post, basic auth.

Records: `Delivery`, `Bounce` (`HardBounce` or `SoftBounce`, with a numeric
`ID`), `SpamComplaint`, `Open`, `Click`; each with `MessageID`, the recipient
and the message's `Metadata` (Fanout's ids). The post carries
`Authorization: Basic` with the user and password configured for the
receiving URL.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson

from services.esp_simulator.events import OutcomeEvent
from services.esp_simulator.webhooks import Post

CLICKED_URL = "https://fanout.example/landing"
BOUNCE_ID_MODULUS = 2**53  # Postmark's bounce IDs are integers (JSON-safe ones here)


def _when(event: OutcomeEvent) -> str:
    return datetime.fromtimestamp(event.occurred_at, UTC).isoformat().replace("+00:00", "Z")


def record(event: OutcomeEvent) -> dict[str, Any]:
    """The webhook record of one event."""
    meta = event.message.metadata
    common: dict[str, Any] = {
        "MessageID": event.message.provider_message_id,
        "MessageStream": "broadcast",
        "Metadata": {
            "account_id": str(meta.account_id),
            "campaign_id": str(meta.campaign_id),
            "lead_id": str(meta.lead_id),
        },
    }
    recipient, when = event.message.recipient, _when(event)
    if event.type in ("bounced", "complained"):
        kind = "SpamComplaint" if event.type == "complained" else None
        kind = kind or ("HardBounce" if event.bounce_type == "hard" else "SoftBounce")
        return common | {
            "RecordType": "SpamComplaint" if event.type == "complained" else "Bounce",
            "ID": event.id.int % BOUNCE_ID_MODULUS,
            "Type": kind,
            "Email": recipient,
            "BouncedAt": when,
            "Description": event.reason,
            "Details": event.reason,
        }
    if event.type == "delivered":
        return common | {"RecordType": "Delivery", "Recipient": recipient, "DeliveredAt": when}
    kind = "Open" if event.type == "opened" else "Click"
    extra = {"OriginalLink": CLICKED_URL} if kind == "Click" else {}
    return common | {"RecordType": kind, "Recipient": recipient, "ReceivedAt": when, **extra}


class PostmarkFormat:
    """One post per record, with basic-auth credentials."""

    def __init__(self, username: str, password: str) -> None:
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {
            "Content-Type": "application/json",
            "Authorization": f"Basic {credentials}",
        }

    def posts(self, events: list[OutcomeEvent]) -> list[Post]:
        """One post for each event."""
        return [Post(1, partial(self._post, orjson.dumps(record(e)))) for e in events]

    def _post(self, body: bytes) -> tuple[bytes, dict[str, str]]:
        return body, self._headers
