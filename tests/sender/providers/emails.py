"""Send requests for the adapters' tests: rendered emails as the sender makes them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from services.sender.providers.base import (
    EmailProvider,
    OutgoingEmail,
    RecipientResult,
    SendRequest,
)

API = Path(__file__).parent / "api"
Handler = Callable[[httpx.Request], httpx.Response]


def api_file(name: str) -> Any:
    """A provider's published description or example (see api/README.md)."""
    return json.loads((API / name).read_text())


def outgoing(n: int, to: str | None = None, *, html: str | None = None) -> OutgoingEmail:
    """Email `n` of a campaign, with its own subject, bodies and unsubscribe link."""
    link = f"https://u.fanout.test/unsubscribe/tok{n}"
    return OutgoingEmail(
        lead_id=uuid.uuid5(uuid.NAMESPACE_URL, f"lead{n}"),
        to=to or f"lead{n}@example.com",
        subject=f"Hello Ada {n} – 100% {{{{not a tag}}}}",
        html=html if html is not None else f"<p>Hi <b>Ada {n}</b> &amp; welcome</p>",
        text=f"Hi Ada {n}\nsecond line",
        message_id=f"<c1.l{n}@fanout.test>",
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def send_request(count: int = 3, **options: str) -> SendRequest:
    """A batch of `count` emails from Acme."""
    return SendRequest(
        account_id=uuid.UUID("7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0001"),
        campaign_id=uuid.UUID("7d1d2c1e-93a4-4b7e-9a57-1b1f1a0e0002"),
        from_email="news@acme.example",
        from_name="Acme News",
        reply_to="support@acme.example",
        emails=[outgoing(n) for n in range(count)],
        options=options,
    )


def fresh_request(count: int, tag: str | None = None) -> SendRequest:
    """A batch of `count` plain emails to addresses and message ids of their own: `tag`
    (random unless given) makes them, so the same tag repeats the same messages."""
    tag = tag or uuid.uuid4().hex
    emails = [
        OutgoingEmail(
            lead_id=uuid.uuid4(),
            to=f"lead{n}-{tag}@example.com",
            subject=f"Hello {n}",
            html=f"<p>Hello {n}</p>",
            text=f"Hello {n}",
            message_id=f"<{tag}.{n}@fanout.test>",
            headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        for n in range(count)
    ]
    return SendRequest(uuid.uuid4(), uuid.uuid4(), "news@acme.example", "Acme News", None, emails)


async def send_with(
    adapter: Callable[[httpx.AsyncClient], EmailProvider],
    handler: Handler,
    request: SendRequest | None = None,
    captured: list[httpx.Request] | None = None,
) -> list[RecipientResult]:
    """The results of `adapter` (made on a client `handler` answers) sending `request`
    (`send_request()` unless given); its requests kept in `captured`."""
    async with mock_client(handler, captured) as client:
        return await adapter(client).send_batch(request or send_request())


def mock_client(handler: Handler, captured: list[httpx.Request] | None = None) -> httpx.AsyncClient:
    """A client whose requests `handler` answers (the provider is third-party), kept in
    `captured`."""

    def record(request: httpx.Request) -> httpx.Response:
        if captured is not None:
            captured.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))
