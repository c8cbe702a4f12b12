"""One rendered email as the MIME message an SMTP relay receives.

The deterministic Message-ID is the message's own `Message-ID` header (a relay
keeps it), and Fanout's ids travel as `X-Fanout-*` headers: a relay's bounce
(DSN, RFC 3464) or complaint (ARF, RFC 5965) usually quotes the original
headers, so whatever processes those reports can map them back.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8

from services.sender.providers.base import OutgoingEmail, SendRequest

ID_HEADERS = {
    "account_id": "X-Fanout-Account-Id",
    "campaign_id": "X-Fanout-Campaign-Id",
    "lead_id": "X-Fanout-Lead-Id",
}
SET_HERE = frozenset({"from", "to", "subject", "reply-to", "message-id", "date"})


def needs_smtputf8(request: SendRequest, outgoing: OutgoingEmail) -> bool:
    """Whether an address has a non-ASCII local part (RFC 6531)."""
    return not (outgoing.to.isascii() and request.from_email.isascii())


def mime_message(request: SendRequest, outgoing: OutgoingEmail) -> EmailMessage:
    """The message to `outgoing.to`: text and HTML alternatives, headers, ids."""
    utf8 = needs_smtputf8(request, outgoing)
    message = EmailMessage(policy=SMTPUTF8 if utf8 else SMTP)
    message["From"] = email.utils.formataddr((request.from_name, request.from_email))
    message["To"] = outgoing.to
    message["Subject"] = outgoing.subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = outgoing.message_id
    if request.reply_to:
        message["Reply-To"] = request.reply_to
    for name, value in outgoing.headers.items():
        if value and name.lower() not in SET_HERE:
            message[name] = value
    ids = {
        "account_id": str(request.account_id),
        "campaign_id": str(request.campaign_id),
        "lead_id": str(outgoing.lead_id),
    }
    for key, header in ID_HEADERS.items():
        message[header] = ids[key]
    message.set_content(outgoing.text or " ")
    if outgoing.html:
        message.add_alternative(outgoing.html, subtype="html")
    return message
