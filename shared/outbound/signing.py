"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`.

The headers of one attempt:

    webhook-id: <the delivery's id, the same on every retry and replay>
    webhook-timestamp: <unix seconds of this attempt>
    webhook-signature: v1,<sig under the current secret> [v1,<sig under the previous>]

During a rotation's overlap both secrets sign (space-separated, as the specification
allows), so a receiver still holding the old secret verifies, and one already given the
new secret verifies too. The body is signed exactly as sent (the stored bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from shared.outbound.secrets import secret_key_bytes

CONTENT_TYPE = "application/json"
USER_AGENT = "Fanout-Webhooks/1"


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the message under `secret` (`whsec_...`)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(
    secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one attempt, signed by each of `secrets` (current first)."""
    if not secrets:
        raise ValueError("a webhook needs at least one signing secret")
    signatures = " ".join(signature(s, msg_id, timestamp, body) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
    }
