"""The SMTP dialect reads what the SMTP adapter writes, exactly, whatever the content.

Messages are built by the adapter's own `message_bytes`; the oracle is the standard
library's modern parser (`email.policy.default`), which the dialect used before it read
7-bit messages with the several times cheaper compat32 parser.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from services.esp_simulator.dialects.smtp import message_fields
from services.sender.providers.base import OutgoingEmail, SendRequest
from services.sender.providers.smtp_message import message_bytes
from shared.templating.compiled import one_line

# Any text a template can render; NUL and lone surrogates cannot travel in a message.
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"))
LOCAL = st.sampled_from(["ana", "o'brien", "ünïcode", "李"])


def _request(subject: str, html: str, text: str, local: str) -> tuple[SendRequest, OutgoingEmail]:
    outgoing = OutgoingEmail(
        lead_id=uuid4(),
        to=f"{local}@example.com",
        subject=subject,
        html=html,
        text=text,
        message_id=f"<{uuid4()}@fanout.example>",
        headers={"List-Unsubscribe": "<https://u.example/x>"},
    )
    request = SendRequest(
        account_id=uuid4(),
        campaign_id=uuid4(),
        from_email="news@fanout.example",
        from_name="Fanout Ünï",
        reply_to=None,
        emails=[outgoing],
    )
    return request, outgoing


def _oracle(content: bytes) -> dict[str, str]:
    message = email.message_from_bytes(content, policy=default)
    assert isinstance(message, EmailMessage)

    def part(subtype: str) -> str:
        body = message.get_body(preferencelist=(subtype,))
        ok = body is not None and body.get_content_subtype() == subtype
        return str(body.get_content()) if ok and body is not None else ""

    return {"subject": str(message["Subject"]), "html": part("html"), "text": part("plain")}


@settings(max_examples=150, deadline=None)
@given(subject=TEXT, html=TEXT, text=TEXT, local=LOCAL)
def test_fields_read_are_what_the_adapter_wrote(
    subject: str, html: str, text: str, local: str
) -> None:
    request, outgoing = _request(one_line(subject), html, text, local)  # as rendered
    content = message_bytes(request, outgoing)

    fields = message_fields(content, outgoing.to)

    assert {k: fields[k] for k in ("subject", "html", "text")} == _oracle(content)
    assert fields["message_id"] == outgoing.message_id
    assert fields["metadata"] == {
        "account_id": str(request.account_id),
        "campaign_id": str(request.campaign_id),
        "lead_id": str(outgoing.lead_id),
    }


def test_a_long_non_ascii_subject_in_several_encoded_words_reads_whole() -> None:
    subject = "Ünïcödé " * 40 + "— 李 " * 10
    request, outgoing = _request(subject, "<p>x</p>", "x", "ana")
    content = message_bytes(request, outgoing)
    assert content.isascii() and content.count(b"=?utf-8?") > 1  # the 7-bit path, folded
    assert message_fields(content, outgoing.to)["subject"] == subject
