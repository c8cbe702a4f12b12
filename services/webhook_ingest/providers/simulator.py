"""The ESP simulator's webhooks: HMAC-SHA256 over the timestamp and raw body.

Headers: `X-Simulator-Timestamp: <unix seconds>` and
`X-Simulator-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`
(several comma-separated values allowed, for secret rotation). The timestamp
is signed with the body, so a captured post is refused once it is older than
the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, get_args
from uuid import UUID

from services.webhook_ingest.providers.base import (
    MalformedPayload,
    Parsed,
    ProviderEvent,
    Unauthorized,
    as_object,
    load_json,
    parse_iso,
    require,
    require_fresh_timestamp,
)
from shared.contracts.events import BounceType, EventType

PROVIDER = "simulator"
TIMESTAMP_HEADER = "x-simulator-timestamp"
SIGNATURE_HEADER = "x-simulator-signature"
TYPES = {
    "delivered": EventType.DELIVERED,
    "bounced": EventType.BOUNCED,
    "complained": EventType.COMPLAINED,
    "opened": EventType.OPENED,
    "clicked": EventType.CLICKED,
}


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=<hex>` for `body` posted at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={digest.hexdigest()}"


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    tolerance_s: float,
    now: float | None = None,
) -> None:
    """Raise `Unauthorized` unless the signature headers sign `body` at a recent timestamp."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        raise Unauthorized("missing X-Simulator-Timestamp or X-Simulator-Signature")
    require_fresh_timestamp(timestamp, "X-Simulator-Timestamp", tolerance_s, now)
    expected = expected_signature(secret, timestamp, body).encode()
    candidates = [part.strip().encode() for part in signature.split(",")]
    # compare against every candidate so timing does not reveal which one matched
    if not sum(hmac.compare_digest(expected, c) for c in candidates):
        raise Unauthorized("X-Simulator-Signature does not match")


def _event(raw: Any, where: str) -> ProviderEvent:
    obj = as_object(raw, where)
    kind = require(obj, "type", str, where)
    if kind not in TYPES:
        raise MalformedPayload(f"{where}.type: unknown event type {kind[:32]!r}")
    bounce_type = obj.get("bounce_type")
    if kind == "bounced" and bounce_type not in get_args(BounceType):
        raise MalformedPayload(f"{where}.bounce_type: expected 'hard' or 'soft' for a bounce")
    metadata = obj.get("metadata") or {}
    try:
        key = str(UUID(require(obj, "id", str, where)))
    except ValueError as exc:
        raise MalformedPayload(f"{where}.id: not a UUID") from exc
    return ProviderEvent(
        provider=PROVIDER,
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


def parse(body: bytes) -> Parsed:
    """The events of a verified post: `{"events": [...]}`."""
    document = as_object(load_json(body), "body")
    events = require(document, "events", list, "body")
    return Parsed([_event(raw, f"events[{i}]") for i, raw in enumerate(events)])
