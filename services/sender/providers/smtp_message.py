"""One rendered email as the MIME message an SMTP relay receives, as bytes.

The deterministic Message-ID is the message's own `Message-ID` header (a relay
keeps it), and Fanout's ids travel as `X-Fanout-*` headers: a relay's bounce
(DSN, RFC 3464) or complaint (ARF, RFC 5965) usually quotes the original
headers, so whatever processes those reports can map them back.

Messages are built with the `email.mime` classes (the compat32 policy), about
six times cheaper than `EmailMessage` with the modern policies (`fanout bench
providers`); only an address that needs SMTPUTF8 (a non-ASCII local part,
which RFC 2047 cannot encode) takes the modern SMTPUTF8 policy.
"""

from __future__ import annotations

import email.utils
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import SMTPUTF8, compat32

from services.sender.providers.base import OutgoingEmail, SendRequest

ID_HEADERS = {
    "account_id": "X-Fanout-Account-Id",
    "campaign_id": "X-Fanout-Campaign-Id",
    "lead_id": "X-Fanout-Lead-Id",
}
SET_HERE = frozenset({"from", "to", "subject", "reply-to", "message-id", "date"})
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP  # readable bodies, 7-bit safe
FLAT = compat32.clone(linesep="\r\n", max_line_length=998)  # no folding of ids and links


def needs_smtputf8(request: SendRequest, outgoing: OutgoingEmail) -> bool:
    """Whether an address has a non-ASCII local part (RFC 6531)."""
    return not (outgoing.to.isascii() and request.from_email.isascii())


def _headers(request: SendRequest, outgoing: OutgoingEmail) -> list[tuple[str, str]]:
    ids = {
        "account_id": str(request.account_id),
        "campaign_id": str(request.campaign_id),
        "lead_id": str(outgoing.lead_id),
    }
    headers = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Message-ID", outgoing.message_id),
        *((n, v) for n, v in outgoing.headers.items() if v and n.lower() not in SET_HERE),
        *((header, ids[key]) for key, header in ID_HEADERS.items()),
    ]
    if request.reply_to:
        headers.append(("Reply-To", request.reply_to))
    return headers


def _ascii_message(request: SendRequest, outgoing: OutgoingEmail) -> Message:
    message = MIMEMultipart("alternative")
    message["From"] = email.utils.formataddr((request.from_name, request.from_email), "utf-8")
    message["To"] = outgoing.to
    subject = outgoing.subject
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    for name, value in _headers(request, outgoing):
        message[name] = value
    message.attach(_text(outgoing.text or " ", "plain"))
    if outgoing.html:
        message.attach(_text(outgoing.html, "html"))
    return message


def _text(text: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, UTF8_QP)
    return part


def _utf8_message(request: SendRequest, outgoing: OutgoingEmail) -> EmailMessage:
    message = EmailMessage(policy=SMTPUTF8)
    message["From"] = email.utils.formataddr((request.from_name, request.from_email))
    message["To"] = outgoing.to
    message["Subject"] = outgoing.subject
    for name, value in _headers(request, outgoing):
        message[name] = value
    message.set_content(outgoing.text or " ")
    if outgoing.html:
        message.add_alternative(outgoing.html, subtype="html")
    return message


def message_bytes(request: SendRequest, outgoing: OutgoingEmail) -> bytes:
    """The message to `outgoing.to`: text and HTML alternatives, headers, ids."""
    if needs_smtputf8(request, outgoing):
        return _utf8_message(request, outgoing).as_bytes()
    return _ascii_message(request, outgoing).as_bytes(policy=FLAT)
