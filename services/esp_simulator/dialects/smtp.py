"""SMTP dialect: an aiosmtpd server in the simulator's process, on its own port.

It accepts one recipient per transaction (as the SMTP adapter sends), AUTH
PLAIN/LOGIN with the configured user when one is set, and hands each message
to the engine at DATA: the Message-ID header is the message id, the
`X-Fanout-*` headers Fanout's ids. The engine's answer becomes the reply to
DATA: `250` accepted, `451 4.7.1` throttled, `451 4.3.0` transient, `550 5.1.1`
rejected, `421 4.7.0` or `451 4.3.2` when the whole call is refused. Outcomes
(delivery, bounces as a DSN would report them, complaints) are posted as the
simulator's own signed webhooks: a relay reports them by DSN and ARF, which
Fanout does not parse.
"""

from __future__ import annotations

import asyncio
import email
import hmac
from collections.abc import Callable
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import default
from functools import partial
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.esp_simulator.dialects.common import DialectError, bulk_request
from services.esp_simulator.dialects.settings import DialectSettings
from services.esp_simulator.engine import CallRefused, Simulator
from shared.simulator_status import MessageStatus

ID_HEADERS = {
    "account_id": "X-Fanout-Account-Id",
    "campaign_id": "X-Fanout-Campaign-Id",
    "lead_id": "X-Fanout-Lead-Id",
}
REPLIES = {
    MessageStatus.ACCEPTED: "250 2.0.0 OK queued as {id}",
    MessageStatus.THROTTLED: "451 4.7.1 {reason}",
    MessageStatus.TRANSIENT_ERROR: "451 4.3.0 {reason}",
    MessageStatus.REJECTED: "550 5.1.1 {reason}",
}


def _modern_part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    return (
        str(body.get_content())
        if body is not None and body.get_content_subtype() == subtype
        else ""
    )


def _legacy_part(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}" and not part.get_filename():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset("us-ascii"), errors="replace")
    return ""


def _legacy_header(message: Message, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(make_header(decode_header(str(value))))


def _parsed(content: bytes) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """A message's header and text-part readers. 7-bit messages (all but SMTPUTF8 ones) are
    read with the compat32 parser and RFC 2047 decoding, about ten times cheaper per message
    than the modern policy (the simulator parses every email of an SMTP campaign); 8-bit
    ones (raw UTF-8 headers) need the modern policy."""
    if content.isascii():
        legacy = email.message_from_bytes(content)
        return partial(_legacy_header, legacy), partial(_legacy_part, legacy)
    modern = email.message_from_bytes(content, policy=default)
    assert isinstance(modern, EmailMessage)
    return (lambda name: str(modern.get(name, ""))), partial(_modern_part, modern)


def message_fields(content: bytes, recipient: str) -> dict[str, Any]:
    """The engine's message of one received MIME message."""
    header, part = _parsed(content)
    metadata = {name: header(field) for name, field in ID_HEADERS.items()}
    missing = [ID_HEADERS[n] for n, v in metadata.items() if not v]
    if missing:
        raise DialectError(missing[0], "header required by the simulator (Fanout's ids)")
    return {
        "message_id": header("Message-ID").strip(),
        "to": recipient,
        "subject": header("Subject"),
        "html": part("html"),
        "text": part("plain"),
        "headers": {},
        "metadata": metadata,
    }


class SmtpHandler:
    """aiosmtpd handler: one recipient per transaction, answered by the engine."""

    def __init__(self, simulator: Simulator, settings: DialectSettings) -> None:
        self._simulator = simulator
        self._user = settings.smtp_username
        self._password = settings.smtp_password.get_secret_value()

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """AUTH PLAIN/LOGIN with the configured user and password."""
        del server, session, envelope, mechanism
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user_ok = hmac.compare_digest(data.login, self._user.encode())
        password_ok = hmac.compare_digest(data.password, self._password.encode())
        # handled=False: aiosmtpd answers the refusal (535) itself
        return AuthResult(success=user_ok and password_ok, handled=False)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """One recipient per transaction; an address without `@` is refused."""
        del server, session, options
        if envelope.rcpt_tos:
            return "452 4.5.3 one recipient per message, please"
        if "@" not in address.strip("@"):
            return "550 5.1.3 bad recipient address syntax"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """The engine's answer to the message."""
        del server, session
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        try:
            fields = message_fields(content, envelope.rcpt_tos[0])
            bulk = bulk_request(str(envelope.mail_from), None, [fields])
        except DialectError as exc:
            return f"554 5.6.0 {exc}"[:500]
        answer = await self._simulator.send(bulk)
        if isinstance(answer, CallRefused):
            return (
                f"451 4.3.2 {answer.reason}"
                if answer.status_code >= 500
                else f"451 4.7.0 {answer.reason}"
            )
        result = answer[0]
        return REPLIES[result.status].format(id=result.provider_message_id, reason=result.reason)


async def serve_smtp(simulator: Simulator, settings: DialectSettings, host: str) -> asyncio.Server:
    """The SMTP dialect listening on `settings.smtp_port` (0: any free port)."""
    handler = SmtpHandler(simulator, settings)
    auth = bool(settings.smtp_username)

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname="esp-simulator",
            enable_SMTPUTF8=True,
            auth_required=auth,
            auth_require_tls=False,  # a local test relay on loopback
            authenticator=handler.authenticate if auth else None,
        )

    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol, host=host, port=settings.smtp_port or 0)
