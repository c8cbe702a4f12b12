"""The SMTP adapter against a real SMTP server in-process (aiosmtpd): TLS, AUTH, refusals,
a connection dropped mid-batch."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.sender.providers.base import Outcome, ProviderRetryable, ProviderStopped, SendRequest
from services.sender.providers.smtp import SmtpConfig, SmtpProvider
from services.sender.providers.smtp_message import message_bytes, needs_smtputf8
from tests.sender.providers.emails import outgoing, send_request
from tests.sender.providers.smtp_server import PASSWORD, USER, Relay, running_relay


def _config(relay: Relay, **changes: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": "localhost",
        "port": relay.port,
        "security": "starttls",
        "username": USER,
        "password": SecretStr(PASSWORD),
        "ca_file": str(relay.certificate),
        "connections": 2,
        "timeout_s": 5.0,
    }
    return SmtpConfig.model_validate(values | changes)


async def _send(config: SmtpConfig, request: SendRequest) -> list[object]:
    provider = SmtpProvider(config)
    try:
        return list(await provider.send_batch(request))
    finally:
        await provider.aclose()


def _body(message: EmailMessage, kind: str) -> str:
    """A part's text as written (SMTP carries lines ending CRLF; the last line ends too)."""
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n").removesuffix("\n")


def _request(*addresses: str) -> SendRequest:
    request = send_request(0)
    request.emails.extend(outgoing(n, to) for n, to in enumerate(addresses))
    return request


async def test_send_batch_over_starttls_with_auth_exact_per_recipient(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        request = send_request(5)
        results = await _send(_config(relay), request)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 5  # type: ignore[attr-defined]
    by_id = {m["Message-ID"]: m for m in relay.received}
    assert set(by_id) == {e.message_id for e in request.emails}
    for email in request.emails:
        message = by_id[email.message_id]
        assert message["To"] == email.to and message["Subject"] == email.subject
        assert _body(message, "plain") == email.text
        assert _body(message, "html") == email.html
        assert message["List-Unsubscribe"] == email.headers["List-Unsubscribe"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["X-Fanout-Lead-Id"] == str(email.lead_id)
        assert message["X-Fanout-Campaign-Id"] == str(request.campaign_id)
        assert message["Reply-To"] == "support@acme.example"
    assert {env for env, _ in relay.envelopes} == {"news@acme.example"}
    assert relay.connections <= 2  # the pool's connections, reused


async def test_send_batch_over_implicit_tls(tmp_path: Path) -> None:
    async with running_relay(tmp_path, implicit_tls=True) as relay:
        results = await _send(_config(relay, security="tls"), send_request(3))
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3  # type: ignore[attr-defined]
    assert len(relay.received) == 3


async def test_send_batch_refused_recipients_classified(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        request = _request("ada@example.com", "nobody@example.com", "full@example.com", "bo@x.org")
        results = await _send(_config(relay), request)
    outcomes = [r.outcome for r in results]  # type: ignore[attr-defined]
    assert outcomes == [Outcome.ACCEPTED, Outcome.REJECTED, Outcome.RETRY, Outcome.ACCEPTED]
    assert "550 5.1.1" in results[1].reason  # type: ignore[attr-defined]
    assert [m["To"] for m in relay.received].count("ada@example.com") == 1
    assert len(relay.received) == 2


async def test_send_batch_connection_dropped_mid_batch(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        addresses = ["a@example.com", "b@example.com", "drop@example.com", "c@example.com"]
        request = _request(*addresses)
        results = await _send(_config(relay, connections=1), request)
    outcomes = dict(zip(addresses, [r.outcome for r in results], strict=True))  # type: ignore[attr-defined]
    assert outcomes["drop@example.com"] is Outcome.RETRY
    assert {outcomes[a] for a in addresses if a != "drop@example.com"} == {Outcome.ACCEPTED}
    assert sorted(m["To"] for m in relay.received) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert relay.connections == 2  # a fresh connection after the drop


async def test_send_batch_wrong_password_stops(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        with pytest.raises(ProviderStopped, match="535"):
            await _send(_config(relay, password=SecretStr("wrong")), send_request(2))
        assert relay.received == []


async def test_send_batch_untrusted_certificate_retryable(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        with pytest.raises(ProviderRetryable):
            await _send(_config(relay, ca_file=""), send_request(1))
        assert relay.received == []


async def test_send_batch_relay_unreachable_retryable(tmp_path: Path) -> None:
    async with running_relay(tmp_path) as relay:
        port = relay.port
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", timeout_s=2.0)
    with pytest.raises(ProviderRetryable):
        await _send(config, send_request(2))


def test_message_to_non_ascii_local_part_uses_smtputf8() -> None:
    request = _request("jörg@bücher.example")
    email = request.emails[0]
    assert needs_smtputf8(request, email)
    parsed = message_from_bytes(message_bytes(request, email), policy=default)
    assert parsed["To"] == "jörg@bücher.example"
    assert parsed["Message-ID"] == email.message_id
    assert isinstance(parsed, EmailMessage) and _body(parsed, "html") == email.html
