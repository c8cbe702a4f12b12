"""Postmark webhooks: HTTP basic auth in the webhook URL, one record per post.

Records: Bounce (by `Type`, below), SpamComplaint → complained, Delivery,
Open, Click, SubscriptionChange (SuppressSending with ManualSuppression, i.e.
the recipient unsubscribed → unsubscribed; suppressions for bounces and
complaints arrive as their own records; reactivations are ignored). Fanout's
ids come from `Metadata`. A record without `RecordType` but with `BouncedAt`
is the older documented bounce webhook, read as a Bounce record.

Bounce types: HardBounce, BadEmailAddress, ManuallyDeactivated → hard;
SpamComplaint → complained; Unsubscribe → unsubscribed; auto-replies, address
changes, challenge/verification mails and sender-side errors (Subscribe,
AutoResponder, AddressChange, OpenRelayTest, ChallengeVerification,
InboundError, TemplateRenderingFailed, Unconfirmed, SMTPApiError) → ignored;
everything else (Transient, SoftBounce, DnsError, Blocked, DMARCPolicy,
SpamNotification, VirusNotification, Unknown, new types) → soft.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any

from services.webhook_ingest.providers.base import (
    Parsed,
    ProviderEvent,
    Refusal,
    Unauthorized,
    Verified,
)
from services.webhook_ingest.providers.fields import as_object, load_json, parse_iso, require
from shared.contracts.events import EventType

HARD = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated"})
IGNORED_BOUNCES = frozenset(
    {
        "Subscribe",
        "AutoResponder",
        "AddressChange",
        "OpenRelayTest",
        "ChallengeVerification",
        "InboundError",
        "TemplateRenderingFailed",
        "Unconfirmed",
        "SMTPApiError",
    }
)


def _bounce_fields(record: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = require(record, "Type", str, "body")
    description = record.get("Description") or record.get("Details") or ""
    if kind in IGNORED_BOUNCES:
        return None
    if kind == "SpamComplaint":
        return {"type": EventType.COMPLAINED, "reason": kind}
    if kind == "Unsubscribe":
        return {"type": EventType.UNSUBSCRIBED, "reason": kind}
    bounce_type = "hard" if kind in HARD else "soft"
    return {
        "type": EventType.BOUNCED,
        "bounce_type": bounce_type,
        "reason": f"{kind}: {description}",
    }


def _fields(record: Mapping[str, Any], kind: str) -> dict[str, Any] | None:
    """Type, reason, stable key, recipient and time of a record; None for ignored records."""
    message = str(record.get("MessageID") or "")
    if kind in ("Bounce", "SpamComplaint"):
        fields = _bounce_fields(record)
        if fields is None:
            return None
        fields["key"] = f"bounce:{require(record, 'ID', int, 'body')}"
        return fields | {"email": require(record, "Email", str, "body"), "at": "BouncedAt"}
    recipient = require(record, "Recipient", str, "body")
    if kind == "Delivery":
        return {
            "type": EventType.DELIVERED,
            "key": f"delivery:{message}:{recipient}",
            "email": recipient,
            "at": "DeliveredAt",
            "reason": str(record.get("Details") or ""),
        }
    if kind in ("Open", "Click"):
        link = str(record.get("OriginalLink") or "")
        at = str(record.get("ReceivedAt"))
        return {
            "type": EventType.OPENED if kind == "Open" else EventType.CLICKED,
            "key": f"{kind.lower()}:{message}:{recipient}:{at}:{link}",
            "email": recipient,
            "at": "ReceivedAt",
            "reason": link,
        }
    if kind == "SubscriptionChange" and record.get("SuppressSending") is True:
        if record.get("SuppressionReason") != "ManualSuppression":
            return None
        return {
            "type": EventType.UNSUBSCRIBED,
            "email": recipient,
            "at": "ChangedAt",
            "key": f"subscription:{message}:{recipient}:{record.get('ChangedAt')}",
            "reason": f"unsubscribed via {record.get('Origin') or 'Postmark'}",
        }
    return None


class PostmarkProvider:
    """Postmark's webhooks, authenticated by the basic-auth credentials in their URL."""

    name = "postmark"
    summary = (
        "Postmark's webhooks (one record per post), authenticated by HTTP basic auth set in "
        "the webhook URL (`postmark_username` / `postmark_password`)."
    )
    auth_headers: Mapping[str, str] = {"Authorization": "`Basic <base64(user:password)>`."}

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Verified:
        """The request, if it carries the configured basic-auth credentials."""
        if not self._username or not self._password:
            raise Unauthorized(
                "Postmark webhooks are not configured (no basic-auth credentials)",
                Refusal.NOT_CONFIGURED,
            )
        scheme, _, encoded = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise Unauthorized("missing HTTP basic credentials", Refusal.MISSING)
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError) as exc:
            raise Unauthorized("malformed HTTP basic credentials", Refusal.MALFORMED) from exc
        user_ok = hmac.compare_digest(user, self._username.encode())
        password_ok = hmac.compare_digest(password, self._password.encode())
        if not (user_ok and password_ok):
            raise Unauthorized("wrong HTTP basic credentials", Refusal.MISMATCH)
        return Verified(body)

    def parse(self, verified: Verified) -> Parsed:
        """The event of one verified Postmark record."""
        parsed = Parsed()
        parsed.take(as_object(load_json(verified.body), "body"), "body", _event)
        return parsed


def record_type(record: Mapping[str, Any], where: str) -> str:
    """`RecordType`; a record without one is the older documented bounce webhook (which had
    only bounces and spam complaints, told apart by `Type`)."""
    if "RecordType" not in record and "BouncedAt" in record:
        return "Bounce"
    kind: str = require(record, "RecordType", str, where)
    return kind


def _event(record: Mapping[str, Any], where: str) -> ProviderEvent | None:
    fields = _fields(record, record_type(record, where))
    if fields is None:
        return None
    at = fields.pop("at")
    metadata = record.get("Metadata") or {}
    return ProviderEvent(
        provider=PostmarkProvider.name,
        occurred_at=parse_iso(record.get(at), f"{where}.{at}"),
        metadata=as_object(metadata, f"{where}.Metadata"),
        provider_message_id=str(record.get("MessageID") or ""),
        where=where,
        **fields,
    )
