"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

Headers `X-Twilio-Email-Event-Webhook-Signature` (base64 DER signature) and
`X-Twilio-Email-Event-Webhook-Timestamp`; the verification key is the base64
DER SubjectPublicKeyInfo SendGrid shows in its settings. Timestamps outside
the tolerance are refused, so a captured post cannot be replayed later.

The body is a JSON array of events; Fanout's ids are the custom args
`account_id`, `campaign_id`, `lead_id`, which SendGrid copies onto each event.
Mapping: delivered; bounce (type `bounce` → hard, `blocked` → soft, the
classification kept in the reason); dropped for an address-level reason
(Bounced Address, Invalid, Spam Reporting Address, Unsubscribed Address) →
hard bounce, other drops ignored; open; click; spamreport → complained;
unsubscribe and group_unsubscribe → unsubscribed. processed, deferred
(SendGrid keeps retrying) and anything else are acknowledged, not emitted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.webhook_ingest.providers.base import (
    MalformedPayload,
    Parsed,
    ProviderEvent,
    Unauthorized,
    as_object,
    load_json,
    parse_unix,
    require,
    require_fresh_timestamp,
)
from shared.contracts.events import EventType

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
SIMPLE = {
    "delivered": EventType.DELIVERED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
}
ADDRESS_DROPS = frozenset(
    {"Bounced Address", "Invalid", "Spam Reporting Address", "Unsubscribed Address"}
)


@lru_cache(maxsize=4)
def _public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        raise Unauthorized("SendGrid verification key is not configured correctly") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise Unauthorized("SendGrid verification key is not an EC P-256 key")
    return key


def verify(
    headers: Mapping[str, str],
    body: bytes,
    public_key: str,
    tolerance_s: float,
    now: float | None = None,
) -> None:
    """Raise `Unauthorized` unless the headers carry a valid, recent signature of `body`."""
    if not public_key:
        raise Unauthorized("SendGrid webhooks are not configured (no verification key)")
    signature = headers.get(SIGNATURE_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not signature or not timestamp:
        raise Unauthorized("missing SendGrid signature or timestamp header")
    require_fresh_timestamp(timestamp, "SendGrid timestamp", tolerance_s, now)
    try:
        der = base64.b64decode(signature, validate=True)
        _public_key(public_key).verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise Unauthorized("SendGrid signature does not match") from exc


def _event(obj: Mapping[str, Any], kind: str, where: str) -> ProviderEvent | None:
    fields: dict[str, Any] = {}
    if kind in SIMPLE:
        fields["type"] = SIMPLE[kind]
        fields["reason"] = str(obj.get("url") or obj.get("response") or "")
    elif kind == "bounce":
        bounce_kind = str(obj.get("type") or "bounce")
        fields["type"] = EventType.BOUNCED
        fields["bounce_type"] = "soft" if bounce_kind == "blocked" else "hard"
        classification = obj.get("bounce_classification") or ""
        fields["reason"] = f"{bounce_kind}/{classification}: {obj.get('reason') or ''}"
    elif kind == "dropped" and obj.get("reason") in ADDRESS_DROPS:
        fields.update(
            type=EventType.BOUNCED, bounce_type="hard", reason=f"dropped: {obj['reason']}"
        )
    else:
        return None
    return ProviderEvent(
        provider=PROVIDER,
        key=require(obj, "sg_event_id", str, where),
        email=require(obj, "email", str, where),
        occurred_at=parse_unix(obj.get("timestamp"), f"{where}.timestamp"),
        metadata=obj,
        provider_message_id=str(obj.get("sg_message_id") or ""),
        where=where,
        **fields,
    )


def parse(body: bytes) -> Parsed:
    """The events of a verified post: a JSON array of event objects."""
    document = load_json(body)
    if not isinstance(document, list):
        raise MalformedPayload("body: expected a JSON array of events")
    parsed = Parsed()
    for i, raw in enumerate(document):
        where = f"[{i}]"
        obj = as_object(raw, where)
        event = _event(obj, require(obj, "event", str, where), where)
        if event is None:
            parsed.ignored += 1
        else:
            parsed.events.append(event)
    return parsed
