"""The ESP simulator's webhooks: HMAC-SHA256 over the timestamp and raw body.

The signing rule is `shared.webhook_signature` (the simulator signs with it):
`X-Simulator-Timestamp: <unix seconds>` and
`X-Simulator-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`
(several comma-separated values allowed, for secret rotation). The timestamp
is signed with the body, so a captured post is refused once it is older than
the tolerance. The body is `{"events": [...]}`, the simulator's `WebhookBatch`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, get_args

from services.webhook_ingest.providers.base import MalformedPayload, Parsed, ProviderEvent, Verified
from services.webhook_ingest.providers.fields import (
    as_object,
    load_json,
    parse_iso,
    require,
    uuid_text,
)
from services.webhook_ingest.providers.signed import TimestampedSignature
from shared import webhook_signature
from shared.contracts.events import BounceType, EventType

TYPES = {
    "delivered": EventType.DELIVERED,
    "bounced": EventType.BOUNCED,
    "complained": EventType.COMPLAINED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
}


class SimulatorProvider:
    """Webhooks of Fanout's ESP simulator, signed with the shared simulator secret."""

    name = "simulator"
    summary = (
        'Events from the ESP simulator (`{"events": [...]}`), signed with '
        'HMAC-SHA256(`FANOUT_SIMULATOR_WEBHOOK_SECRET`, `"{timestamp}." + body`).'
    )
    auth_headers: Mapping[str, str] = {
        webhook_signature.TIMESTAMP_HEADER: "Unix seconds of the post, within the tolerance.",
        webhook_signature.SIGNATURE_HEADER: "`v1=<hex>` (comma-separated values while rotating).",
    }

    def __init__(
        self, secret: str, tolerance_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self._signed = TimestampedSignature(
            "missing X-Simulator-Timestamp or X-Simulator-Signature",
            webhook_signature.TIMESTAMP_HEADER,
            "X-Simulator-Signature does not match",
            tolerance_s,
            clock,
        )

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """The request, if its signature headers sign `body` at a recent timestamp."""
        timestamp = headers.get(webhook_signature.TIMESTAMP_HEADER, "")
        signature = headers.get(webhook_signature.SIGNATURE_HEADER, "")
        self._signed.verify(
            timestamp,
            signature,
            lambda ts, sig: webhook_signature.matches(self._secret, int(ts), body, sig),
        )
        return Verified(body)

    def parse(self, verified: Verified) -> Parsed:
        """The events of a verified post."""
        document = as_object(load_json(verified.body), "body")
        parsed = Parsed()
        for i, raw in enumerate(require(document, "events", list, "body")):
            parsed.take(raw, f"events[{i}]", _event)
        return parsed


def _event(raw: Any, where: str) -> ProviderEvent:
    obj = as_object(raw, where)
    kind = require(obj, "type", str, where)
    if kind not in TYPES:
        raise MalformedPayload(f"{where}.type: unknown event type {kind[:32]!r}")
    bounce_type = obj.get("bounce_type")
    if kind == "bounced" and bounce_type not in get_args(BounceType):
        raise MalformedPayload(f"{where}.bounce_type: expected 'hard' or 'soft' for a bounce")
    metadata = obj.get("metadata") or {}
    key = uuid_text(require(obj, "id", str, where), f"{where}.id")
    return ProviderEvent(
        provider=SimulatorProvider.name,
        key=key,
        type=TYPES[kind],
        email=require(obj, "recipient", str, where),
        occurred_at=parse_iso(obj.get("occurred_at"), f"{where}.occurred_at"),
        metadata=as_object(metadata, f"{where}.metadata"),
        provider_message_id=str(obj.get("provider_message_id") or ""),
        reason=str(obj.get("reason") or ""),
        bounce_type=bounce_type if kind == "bounced" else None,
        where=where,
    )
