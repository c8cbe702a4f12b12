"""`fanout bench providers`: what one batch of 50 costs through each send adapter.

For a batch of 50 emails rendered from the demo's template it counts the
provider calls (SMTP: transactions), the bytes sent (request bodies; SMTP:
messages) against the bytes of the rendered content, and the CPU time an
adapter spends building and sending the batch. The HTTP providers answer from
an in-memory transport, so the time is the adapter's own, not the network's;
SMTP's is the time to build its 50 MIME messages. The point is the mapping:
Mailgun's one batch call carries every body inside its recipient variables,
SendGrid's in substitutions, Postmark's and SES's in per-message entries.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

import httpx
import typer
from pydantic import SecretStr
from rich.table import Table

from fanout_cli.output import console
from services.sender.providers.base import EmailProvider, OutgoingEmail, SendRequest
from services.sender.providers.mailgun import MailgunConfig, MailgunProvider
from services.sender.providers.postmark import PostmarkConfig, PostmarkProvider
from services.sender.providers.sendgrid import SendGridConfig, SendGridProvider
from services.sender.providers.ses import SesConfig, SesProvider
from services.sender.providers.smtp import SmtpConfig
from services.sender.providers.smtp_message import message_bytes

BATCH = 50
HTML = (
    "<p>Hi {name},</p><p>Here is what changed this month for {seats} seats in {country}.</p>"
    '<p><a href="https://u.fanout.example/unsubscribe/{token}">Unsubscribe</a></p>'
)


@dataclass
class Cost:
    """One adapter's cost for one batch."""

    provider: str
    calls: int = 0
    request_bytes: int = 0
    content_bytes: int = 0
    cpu_us: float = 0.0


def sample_batch(n: int = BATCH) -> SendRequest:
    """A batch rendered like the demo's campaign: every email its own subject and bodies."""
    emails = []
    for i in range(n):
        token = uuid.uuid4().hex * 2
        emails.append(
            OutgoingEmail(
                lead_id=uuid.uuid4(),
                to=f"lead{i}@example.com",
                subject=f"Ada {i}, what's new in your pro plan",
                html=HTML.format(name=f"Ada {i}", seats=10 + i, country="DE", token=token),
                text=f"Hi Ada {i}, here is what changed this month.\n",
                message_id=f"<{uuid.uuid4()}.{uuid.uuid4()}@fanout.local>",
                headers={
                    "List-Unsubscribe": f"<https://u.fanout.example/unsubscribe/{token}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            )
        )
    return SendRequest(uuid.uuid4(), uuid.uuid4(), "updates@fanout.example", "Fanout", None, emails)


def _answer(request: httpx.Request) -> httpx.Response:
    """Each provider's success answer to a batch of `BATCH`."""
    host = request.url.host
    if host.startswith("sendgrid"):
        return httpx.Response(202, headers={"X-Message-Id": "bench"})
    if host.startswith("mailgun"):
        return httpx.Response(200, json={"id": "<bench@mg>", "message": "Queued. Thank you."})
    if host.startswith("postmark"):
        return httpx.Response(200, json=[{"ErrorCode": 0, "MessageID": "bench"}] * BATCH)
    return httpx.Response(200, json={"BulkEmailEntryResults": [{"Status": "SUCCESS"}] * BATCH})


def _adapters(http: httpx.AsyncClient) -> dict[str, EmailProvider]:
    key = SecretStr("bench-only")
    ses = SesConfig(
        access_key_id="AKIABENCH",
        secret_access_key=key,
        configuration_set_name="bench",
        endpoint_url="http://ses.bench",
    )
    return {
        "sendgrid": SendGridProvider(
            SendGridConfig(api_key=key, base_url="http://sendgrid.bench"), http
        ),
        "mailgun": MailgunProvider(
            MailgunConfig(api_key=key, domain="mg.bench", base_url="http://mailgun.bench"), http
        ),
        "postmark": PostmarkProvider(
            PostmarkConfig(server_token=key, base_url="http://postmark.bench"), http
        ),
        "ses": SesProvider(ses, http),
    }


def _content_bytes(request: SendRequest) -> int:
    return sum(
        len(e.subject.encode()) + len(e.html.encode()) + len(e.text.encode())
        for e in request.emails
    )


async def _measure_http(batches: int) -> list[Cost]:
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.content))
        return _answer(request)

    costs = []
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        for name, adapter in _adapters(http).items():
            cost = Cost(name)
            for _ in range(batches):
                request = sample_batch()
                sizes.clear()
                started = time.process_time()
                await adapter.send_batch(request)
                cost.cpu_us += (time.process_time() - started) * 1e6 / batches
                cost.calls, cost.request_bytes = len(sizes), sum(sizes)
                cost.content_bytes = _content_bytes(request)
            costs.append(cost)
    return costs


def _measure_smtp(batches: int) -> Cost:
    cost = Cost("smtp")
    SmtpConfig(host="relay.bench")  # the configuration the adapter would take
    for _ in range(batches):
        request = sample_batch()
        started = time.process_time()
        messages = [message_bytes(request, e) for e in request.emails]
        cost.cpu_us += (time.process_time() - started) * 1e6 / batches
        cost.calls, cost.request_bytes = len(messages), sum(len(m) for m in messages)
        cost.content_bytes = _content_bytes(request)
    return cost


def measure(batches: int) -> list[Cost]:
    """Every adapter's cost per batch of 50, averaged over `batches` batches."""
    return asyncio.run(_measure_http(batches)) + [_measure_smtp(batches)]


def _table(costs: list[Cost]) -> Table:
    table = Table(title=f"One batch of {BATCH} emails through each adapter")
    for column in ("provider", "calls", "bytes sent", "× content", "CPU µs / batch"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for cost in costs:
        table.add_row(
            cost.provider,
            str(cost.calls),
            f"{cost.request_bytes:,}",
            f"{cost.request_bytes / cost.content_bytes:.2f}",
            f"{cost.cpu_us:,.0f}",
        )
    return table


def providers(
    batches: Annotated[int, typer.Option(help="Batches measured per adapter.")] = 200,
) -> None:
    """Calls, bytes and CPU per batch of 50 for each send adapter (docs/providers.md)."""
    console.print(_table(measure(batches)))
