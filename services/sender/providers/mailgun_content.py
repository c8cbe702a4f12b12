"""The form of a Mailgun Messages API batch call built from one `SendRequest`.

Mailgun's batch sending takes one message with many `to` recipients and a
`recipient-variables` JSON object keyed by address; `%recipient.NAME%` is
replaced per recipient anywhere in the message, headers and custom variables
included. So the message is nothing but placeholders (subject, text, html,
each header, the Message-Id, the lead id) and each recipient's variables hold
its rendered parts: the content stays exact per recipient in one call, at the
cost of sending every body inside the JSON of the variables. Fanout's ids are
custom variables (`v:account_id`, `v:campaign_id`, `v:lead_id`), which Mailgun
returns in every webhook's `user-variables`.

A batch that names one address twice cannot key its variables by address:
`plan` puts repeats into calls of their own.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Sequence

from services.sender.providers.base import OutgoingEmail, SendRequest

Form = list[tuple[str, str]]


def _key(header: str) -> str:
    """The recipient variable holding a header's value."""
    return "h_" + header.lower().replace("-", "_")


def _variables(outgoing: OutgoingEmail) -> dict[str, str]:
    headers = {
        _key(name): value
        for name, value in outgoing.headers.items()
        if name.lower() != "message-id" and value
    }
    return {
        "subject": outgoing.subject,
        "text": outgoing.text,
        "html": outgoing.html,
        "message_id": outgoing.message_id,
        "lead_id": str(outgoing.lead_id),
        **headers,
    }


def plan(emails: Sequence[OutgoingEmail]) -> list[list[OutgoingEmail]]:
    """Calls whose recipients are distinct addresses (the variables' keys)."""
    calls: list[list[OutgoingEmail]] = []
    for outgoing in emails:
        call = next((c for c in calls if all(e.to != outgoing.to for e in c)), None)
        if call is None:
            calls.append([outgoing])
        else:
            call.append(outgoing)
    return calls


def messages_form(request: SendRequest, emails: Sequence[OutgoingEmail]) -> Form:
    """The form fields of one batch call (a field may repeat: one `to` per recipient)."""
    names = sorted({name for e in emails for name in e.headers if name.lower() != "message-id"})
    form: Form = [
        ("from", email.utils.formataddr((request.from_name, request.from_email))),
        *(("to", e.to) for e in emails),
        ("subject", "%recipient.subject%"),
        ("h:Message-Id", "%recipient.message_id%"),
        *((f"h:{name}", f"%recipient.{_key(name)}%") for name in names),
        ("v:account_id", str(request.account_id)),
        ("v:campaign_id", str(request.campaign_id)),
        ("v:lead_id", "%recipient.lead_id%"),
        ("recipient-variables", json.dumps({e.to: _variables(e) for e in emails})),
    ]
    if any(e.text for e in emails) or not any(e.html for e in emails):
        form.append(("text", "%recipient.text%"))
    if any(e.html for e in emails):
        form.append(("html", "%recipient.html%"))
    if request.reply_to:
        form.append(("h:Reply-To", request.reply_to))
    return form
