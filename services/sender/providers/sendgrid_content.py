"""The JSON body of a SendGrid v3 Mail Send call built from one `SendRequest`.

One personalization per email: its recipient, its own subject, its headers
(List-Unsubscribe, List-Unsubscribe-Post, the deterministic Message-ID) and
Fanout's ids as `custom_args`, which SendGrid copies onto every event of the
Event Webhook. Mail Send has one `content` for the whole call, so the bodies
travel as substitutions: the content is two tags, replaced per
personalization by that recipient's rendered text and HTML. SendGrid caps a
personalization's substitutions at 10,000 bytes; an email whose parts do not
fit is sent in a call of its own with its content as the call's content
(`fits` tells which).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.sender.providers.base import OutgoingEmail, SendRequest

TEXT_TAG = "-fanout-text-"
HTML_TAG = "-fanout-html-"
SUBSTITUTIONS_MAX_BYTES = 10_000
# headers SendGrid refuses to take from a personalization; the body sets these itself
RESERVED_HEADERS = frozenset(
    {
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "content-type",
        "content-transfer-encoding",
        "to",
        "from",
        "subject",
        "reply-to",
        "cc",
        "bcc",
    }
)


def _substitutions(outgoing: OutgoingEmail) -> dict[str, str]:
    return {TEXT_TAG: outgoing.text, HTML_TAG: outgoing.html}


def fits(outgoing: OutgoingEmail) -> bool:
    """Whether the email's parts fit in one personalization's substitutions."""
    size = sum(len(k.encode()) + len(v.encode()) for k, v in _substitutions(outgoing).items())
    return size <= SUBSTITUTIONS_MAX_BYTES


def headers(outgoing: OutgoingEmail) -> dict[str, str]:
    """The email's own headers (reserved ones left out) and its deterministic Message-ID."""
    kept = {
        name: value
        for name, value in outgoing.headers.items()
        if value and name.lower() not in RESERVED_HEADERS | {"message-id"}
    }
    return {**kept, "Message-ID": outgoing.message_id}


def custom_args(request: SendRequest, outgoing: OutgoingEmail) -> dict[str, str]:
    """Fanout's ids, echoed on every event of this email."""
    return {
        "account_id": str(request.account_id),
        "campaign_id": str(request.campaign_id),
        "lead_id": str(outgoing.lead_id),
    }


def _personalization(
    request: SendRequest, outgoing: OutgoingEmail, substitute: bool
) -> dict[str, Any]:
    personalization: dict[str, Any] = {
        "to": [{"email": outgoing.to}],
        "subject": outgoing.subject,
        "headers": headers(outgoing),
        "custom_args": custom_args(request, outgoing),
    }
    if substitute:
        personalization["substitutions"] = _substitutions(outgoing)
    return personalization


def _content(emails: Sequence[OutgoingEmail], substitute: bool) -> list[dict[str, str]]:
    """text/plain first, as SendGrid requires; a part only if some email has it."""
    text, html = (TEXT_TAG, HTML_TAG) if substitute else (emails[0].text, emails[0].html)
    parts = []
    if any(e.text for e in emails) or not any(e.html for e in emails):
        parts.append({"type": "text/plain", "value": text or " "})
    if any(e.html for e in emails):
        parts.append({"type": "text/html", "value": html or " "})
    return parts


def mail_send_body(request: SendRequest, emails: Sequence[OutgoingEmail]) -> dict[str, Any]:
    """The Mail Send request for `emails`: substituted bodies, or one email's own content."""
    substitute = len(emails) > 1 or fits(emails[0])
    sender: dict[str, str] = {"email": request.from_email}
    if request.from_name:
        sender["name"] = request.from_name
    body: dict[str, Any] = {
        "personalizations": [_personalization(request, e, substitute) for e in emails],
        "from": sender,
        "content": _content(emails, substitute),
    }
    if request.reply_to:
        body["reply_to"] = {"email": request.reply_to}
    return body
