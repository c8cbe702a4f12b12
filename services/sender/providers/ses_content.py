"""The JSON body of an SES v2 `SendBulkEmail` call built from one `SendRequest`.

SendBulkEmail only sends templates, so every call carries one inline template
whose parts are bare placeholders (`{{subject}}`, `{{html}}`, `{{text}}`), and
each entry's `ReplacementTemplateData` carries that recipient's already
rendered parts. Inline templates get simple substitution only, which is all
this needs, and SES does not HTML-escape substituted values. Per-recipient
headers (List-Unsubscribe, ...) go in `ReplacementHeaders`; the account,
campaign and lead ids go in message tags, which SES puts on every event it
publishes through the configuration set.
"""

from __future__ import annotations

import email.header
import email.utils
import json
from typing import Any

from services.sender.providers.base import OutgoingEmail, SendRequest

# SES replaces any Message-ID with its own; the deterministic id travels in this header.
MESSAGE_ID_HEADER = "X-Fanout-Message-ID"
MAX_HEADERS = 15  # MessageHeaderList max in the SES v2 model


def ascii_address(address: str) -> str | None:
    """`address` as SES accepts it (IDNA domain), or None if its local part is not ASCII."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain or not local.isascii():
        return None
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None


def _header_value(value: str) -> str:
    """Printable ASCII, as the model's MessageHeaderValue pattern requires (RFC 2047 otherwise)."""
    if value.isascii() and value.isprintable():
        return value
    return email.header.Header(value, "utf-8").encode()


def replacement_headers(outgoing: OutgoingEmail) -> list[dict[str, str]]:
    """The email's own headers plus its deterministic message id, at most 15."""
    headers = [
        {"Name": name, "Value": _header_value(value)}
        for name, value in outgoing.headers.items()
        if name.lower() not in {"message-id", MESSAGE_ID_HEADER.lower()} and value
    ]
    headers.append({"Name": MESSAGE_ID_HEADER, "Value": _header_value(outgoing.message_id)})
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"SES accepts at most {MAX_HEADERS} headers per email")
    return headers


def _tags(**values: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in values.items()]


def _entry(request: SendRequest, outgoing: OutgoingEmail, to: str) -> dict[str, Any]:
    parts = {"subject": outgoing.subject, "html": outgoing.html, "text": outgoing.text}
    return {
        "Destination": {"ToAddresses": [to]},
        "ReplacementTags": _tags(
            account_id=str(request.account_id),
            campaign_id=str(request.campaign_id),
            lead_id=str(outgoing.lead_id),
        ),
        "ReplacementEmailContent": {
            "ReplacementTemplate": {
                "ReplacementTemplateData": json.dumps(parts, ensure_ascii=False)
            }
        },
        "ReplacementHeaders": replacement_headers(outgoing),
    }


def _inline_template(emails: list[OutgoingEmail]) -> dict[str, str]:
    content = {"Subject": "{{subject}}"}
    if any(e.html for e in emails):
        content["Html"] = "{{html}}"
    if any(e.text for e in emails) or "Html" not in content:
        content["Text"] = "{{text}}"
    return content


def send_bulk_email_body(
    request: SendRequest,
    recipients: list[tuple[OutgoingEmail, str]],
    configuration_set: str,
) -> dict[str, Any]:
    """The SendBulkEmail request for `recipients` (each email with its SES-ready address)."""
    emails = [outgoing for outgoing, _ in recipients]
    body: dict[str, Any] = {
        "FromEmailAddress": email.utils.formataddr(
            (request.from_name, request.from_email), charset="utf-8"
        ),
        "DefaultContent": {
            "Template": {"TemplateContent": _inline_template(emails), "TemplateData": "{}"}
        },
        "DefaultEmailTags": _tags(
            account_id=str(request.account_id), campaign_id=str(request.campaign_id)
        ),
        "BulkEmailEntries": [_entry(request, outgoing, to) for outgoing, to in recipients],
    }
    if request.reply_to:
        body["ReplyToAddresses"] = [request.reply_to]
    body["ConfigurationSetName"] = configuration_set
    return body
