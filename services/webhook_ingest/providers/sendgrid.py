"""SendGrid's signed Event Webhook: ECDSA P-256 / SHA-256 over timestamp + raw body.

Headers `X-Twilio-Email-Event-Webhook-Signature` (base64 DER signature) and
`X-Twilio-Email-Event-Webhook-Timestamp`; the verification key is the base64
DER SubjectPublicKeyInfo SendGrid shows in its settings. Timestamps outside
the tolerance are refused, so a captured post cannot be replayed later.

The body is a JSON array of events; Fanout's ids are the custom args
`account_id`, `campaign_id`, `lead_id`, which SendGrid copies onto each event.
The event id is `sg_event_id`, or for the documented events that carry none
(legacy and category examples) a digest of the event's content; `timestamp` is
unix seconds, or milliseconds (Single Sends).
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
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.webhook_ingest.providers.base import MalformedPayload, Parsed, ProviderEvent, Verified
from services.webhook_ingest.providers.fields import as_object, load_json, parse_unix, require
from services.webhook_ingest.providers.signed import TimestampedSignature, require_configured
from shared.contracts.events import EventType

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
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


def load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The EC P-256 key of a base64 DER SubjectPublicKeyInfo; `ValueError` saying why not."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a base64 DER public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an EC P-256 key")
    return key


class SendGridProvider:
    """SendGrid's Event Webhook with signature verification enabled."""

    name = "sendgrid"
    summary = (
        "SendGrid's signed Event Webhook: a JSON array of events, ECDSA P-256 / SHA-256 "
        "over timestamp + body, verified with the key in `sendgrid_public_key`."
    )
    auth_headers: Mapping[str, str] = {
        SIGNATURE_HEADER: "Base64 DER ECDSA signature of timestamp + body.",
        TIMESTAMP_HEADER: "Unix seconds of the post, within the tolerance.",
    }

    def __init__(
        self, public_key: str, tolerance_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._problem = "" if public_key else "SendGrid webhooks are not configured (no key)"
        self._key: ec.EllipticCurvePublicKey | None = None
        if public_key:
            try:
                self._key = load_public_key(public_key)
            except ValueError as exc:
                self._problem = f"SendGrid verification key is misconfigured: {exc}"
        self._signed = TimestampedSignature(
            "missing SendGrid signature or timestamp header",
            "SendGrid timestamp",
            "SendGrid signature does not match",
            tolerance_s,
            clock,
        )

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """The request, if its headers carry a valid, recent signature of `body`."""
        key = require_configured(self._key, self._problem)
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        self._signed.verify(
            timestamp, signature, lambda ts, sig: _signs(key, ts.encode() + body, sig)
        )
        return Verified(body)

    def parse(self, verified: Verified) -> Parsed:
        """The events of a verified post: a JSON array of event objects."""
        document = load_json(verified.body)
        if not isinstance(document, list):
            raise MalformedPayload("body: expected a JSON array of events")
        parsed = Parsed()
        for i, raw in enumerate(document):
            parsed.take(raw, f"[{i}]", _event)
        return parsed


def _signs(key: ec.EllipticCurvePublicKey, signed: bytes, signature: str) -> bool:
    """Whether `signature` (base64 DER ECDSA) signs `signed` with `key`."""
    try:
        key.verify(base64.b64decode(signature, validate=True), signed, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def event_key(obj: Mapping[str, Any], where: str) -> str:
    """SendGrid's `sg_event_id`, or for events published without one (legacy and category
    examples) a digest of the event's content: SendGrid retries post the same content."""
    key = obj.get("sg_event_id")
    if key in (None, ""):
        canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        return f"content:{hashlib.sha256(canonical).hexdigest()}"
    if not isinstance(key, str):
        raise MalformedPayload(f"{where}.sg_event_id: expected str")
    return key


def _fields(obj: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    if kind in SIMPLE:
        return {"type": SIMPLE[kind], "reason": str(obj.get("url") or obj.get("response") or "")}
    if kind == "bounce":
        bounce_kind = str(obj.get("type") or "bounce")
        classification = obj.get("bounce_classification") or ""
        return {
            "type": EventType.BOUNCED,
            "bounce_type": "soft" if bounce_kind == "blocked" else "hard",
            "reason": f"{bounce_kind}/{classification}: {obj.get('reason') or ''}",
        }
    if kind == "dropped" and obj.get("reason") in ADDRESS_DROPS:
        return {
            "type": EventType.BOUNCED,
            "bounce_type": "hard",
            "reason": f"dropped: {obj['reason']}",
        }
    return None


def _event(raw: Any, where: str) -> ProviderEvent | None:
    obj = as_object(raw, where)
    fields = _fields(obj, require(obj, "event", str, where))
    if fields is None:
        return None
    return ProviderEvent(
        provider=SendGridProvider.name,
        key=event_key(obj, where),
        email=require(obj, "email", str, where),
        occurred_at=parse_unix(obj.get("timestamp"), f"{where}.timestamp", milliseconds=True),
        metadata=obj,
        provider_message_id=str(obj.get("sg_message_id") or ""),
        where=where,
        **fields,
    )
