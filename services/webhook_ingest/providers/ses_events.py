"""The events inside an SES notification (the JSON in an SNS `Message`).

Event publishing (`eventType`, with `mail.tags`) and classic notifications
(`notificationType`) share the shapes parsed here. Fanout's ids come from the
tags the SES adapter sets (`account_id`, `campaign_id`, `lead_id`); classic
notifications carry no tags, so they are acknowledged and counted as not ours.
Recipients addressed with a display name (`Name <addr>`) are reported so by
SES and read as their address.

Mapping:
- Bounce: one event per `bouncedRecipients` entry; Permanent → hard,
  Transient and Undetermined → soft; the reason keeps type/subtype and the
  diagnostic code.
- Complaint → complained, Delivery → delivered (one per recipient), Open →
  opened, Click → clicked (the link is the reason).
- Reject and DeliveryDelay are acknowledged but not emitted: Reject means SES
  refused the content (a virus) before sending, which says nothing about the
  address and has no post-send type in the contract (`failed` is the sender's
  single terminal outcome per lead); DeliveryDelay is transient, and SES
  reports the final Delivery or Bounce later. Other types are ignored too.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from services.webhook_ingest.providers.base import MalformedPayload, ProviderEvent
from services.webhook_ingest.providers.fields import as_object, load_json, parse_iso, require
from shared.contracts.events import BounceType, EventType

PROVIDER = "ses"
BOUNCE_TYPES: dict[str, BounceType] = {
    "Permanent": "hard",
    "Transient": "soft",
    "Undetermined": "soft",
}
IGNORED = frozenset({"Reject", "DeliveryDelay", "Send", "Rendering Failure", "Subscription"})


class _Context:
    """What every event of one SES notification shares."""

    def __init__(self, sns_message_id: str, ses: Mapping[str, Any]) -> None:
        self.sns_message_id = sns_message_id
        self.mail = as_object(ses.get("mail"), "Message.mail")
        self.message_id = str(self.mail.get("messageId") or "")
        tags = self.mail.get("tags") or {}
        self.tags = as_object(tags, "Message.mail.tags")

    def event(self, part: Mapping[str, Any], where: str, **fields: Any) -> ProviderEvent:
        when = part.get("timestamp", self.mail.get("timestamp"))
        return ProviderEvent(
            provider=PROVIDER,
            occurred_at=parse_iso(when, f"{where}.timestamp"),
            metadata=self.tags,
            provider_message_id=self.message_id,
            where=where,
            **fields,
        )


def _recipients(entries: Any, where: str) -> list[str]:
    if not isinstance(entries, list) or not entries:
        raise MalformedPayload(f"{where}: expected a non-empty list of recipients")
    out: list[str] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            out.append(bare_address(entry))
        else:
            address = require(as_object(entry, f"{where}[{i}]"), "emailAddress", str, where)
            out.append(bare_address(address))
    return out


def bare_address(recipient: str) -> str:
    """The address of `Name <addr>` (SES reports recipients as they were addressed)."""
    if recipient.rstrip().endswith(">") and "<" in recipient:
        _, address = parseaddr(recipient)
        return address or recipient
    return recipient


def _bounces(ctx: _Context, bounce: Mapping[str, Any]) -> list[ProviderEvent]:
    where = "Message.bounce"
    kind = require(bounce, "bounceType", str, where)
    if kind not in BOUNCE_TYPES:
        raise MalformedPayload(f"{where}.bounceType: unknown {kind[:32]!r}")
    subtype = str(bounce.get("bounceSubType") or "")
    feedback = str(bounce.get("feedbackId") or ctx.sns_message_id)
    entries = bounce.get("bouncedRecipients")
    emails = _recipients(entries, f"{where}.bouncedRecipients")
    events = []
    for i, email in enumerate(emails):
        entry = entries[i] if isinstance(entries, list) else None
        diagnostic = entry.get("diagnosticCode", "") if isinstance(entry, dict) else ""
        events.append(
            ctx.event(
                bounce,
                where,
                key=f"bounce:{feedback}:{email.lower()}",
                type=EventType.BOUNCED,
                email=email,
                bounce_type=BOUNCE_TYPES[kind],
                reason=f"{kind}/{subtype}: {diagnostic}".rstrip(": "),
            )
        )
    return events


def _per_recipient(
    ctx: _Context, part: Mapping[str, Any], kind: str, recipients: list[str], stable: str
) -> list[ProviderEvent]:
    types = {
        "Complaint": EventType.COMPLAINED,
        "Delivery": EventType.DELIVERED,
        "Open": EventType.OPENED,
        "Click": EventType.CLICKED,
    }
    reason = {
        "Complaint": part.get("complaintFeedbackType"),
        "Delivery": part.get("smtpResponse"),
        "Click": part.get("link"),
    }.get(kind)
    return [
        ctx.event(
            part,
            f"Message.{kind.lower()}",
            key=f"{kind.lower()}:{stable}:{email.lower()}",
            type=types[kind],
            email=email,
            reason=str(reason or ""),
        )
        for email in recipients
    ]


def notification_events(message: Mapping[str, Any], where: str) -> list[ProviderEvent] | None:
    """The events of a verified SNS `Notification` carrying an SES event (None: not mapped)."""
    sns_id = require(message, "MessageId", str, "body")
    ses = as_object(load_json(require(message, where, str, "body").encode()), where)
    kind = ses.get("eventType") or ses.get("notificationType")
    if not isinstance(kind, str):
        raise MalformedPayload("Message: neither eventType nor notificationType")
    if kind in IGNORED or kind not in ("Bounce", "Complaint", "Delivery", "Open", "Click"):
        return None
    ctx = _Context(sns_id, ses)
    part = as_object(ses.get(kind.lower()), f"Message.{kind.lower()}")
    if kind == "Bounce":
        return _bounces(ctx, part)
    if kind == "Complaint":
        recipients = _recipients(part.get("complainedRecipients"), "Message.complaint")
        return _per_recipient(ctx, part, kind, recipients, str(part.get("feedbackId") or sns_id))
    if kind == "Delivery":
        recipients = _recipients(part.get("recipients"), "Message.delivery.recipients")
        return _per_recipient(ctx, part, kind, recipients, ctx.message_id or sns_id)
    # Open and Click name no recipient: the message's destinations (one per Fanout email)
    recipients = _recipients(ctx.mail.get("destination"), "Message.mail.destination")
    return _per_recipient(ctx, part, kind, recipients, sns_id)
