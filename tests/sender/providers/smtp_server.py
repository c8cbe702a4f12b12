"""A real SMTP server in-process (aiosmtpd) for the SMTP adapter's tests: TLS with a
certificate made on the spot, AUTH, and recipients it refuses or drops the connection on.

Recipients starting `nobody` are refused 550, `full` 452; the DATA of a recipient
starting `drop` closes the connection instead of answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.esp_simulator.dialects.keys import self_signed_certificate

USER, PASSWORD = "fanout", "relay-secret"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    alt = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    ca = x509.BasicConstraints(ca=True, path_length=None)
    cert = self_signed_certificate(key, "localhost", timedelta(hours=1), [(alt, False), (ca, True)])
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Relay:
    """What the server received."""

    port: int
    certificate: Path
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    connections: int = 0


class Handler:
    """Accepts mail but for the recipients the module docstring names."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        del server, session, options
        if address.startswith("nobody"):
            return f"550 5.1.1 <{address}>: no such user"
        if address.startswith("full"):
            return "452 4.2.2 mailbox full, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        del session
        if envelope.rcpt_tos[0].startswith("drop"):
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 connection dropped"
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=default)
        assert isinstance(message, EmailMessage)
        self.relay.received.append(message)
        self.relay.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@contextlib.asynccontextmanager
async def running_relay(folder: Path, *, implicit_tls: bool = False) -> AsyncIterator[Relay]:
    """The relay on a free port: STARTTLS required (or implicit TLS), AUTH required."""
    cert, key = make_certificate(folder)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    relay = Relay(0, cert)
    handler = Handler(relay)

    def protocol() -> SMTP:
        relay.connections += 1
        return SMTP(
            handler,
            hostname="relay.test",
            tls_context=None if implicit_tls else tls,
            require_starttls=not implicit_tls,
            auth_required=True,
            auth_require_tls=not implicit_tls,
            authenticator=_authenticate,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        protocol, host="127.0.0.1", port=0, ssl=tls if implicit_tls else None
    )
    relay.port = server.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        server.close()
